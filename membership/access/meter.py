"""The anonymous free meter: the reads an anonymous reader spent, kept in a signed cookie.

Pure functions of the request (the cookie, the Sec-Fetch-* headers, `peek`) and the clock, so the
Flask view and the access fast path (membership/access/fastpath.py) give the same answer and the
same Set-Cookie, byte for byte. Nothing here touches the database: anonymous traffic never
writes, and each answer depends on its own cookie alone, so concurrent questions cannot disturb
one another's count.
"""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime

from itsdangerous import BadSignature, Serializer, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from werkzeug.http import dump_cookie

from membership.access.services import METER_WINDOW, Meter

COOKIE_NAME = "meter"
MAX_COOKIE = 2048  # longer cookies are not ours: read as no reads at all
SALT = "access-meter"
MAX_AGE = int(METER_WINDOW.total_seconds())


class _MeterSerializer(URLSafeSerializer):
    """itsdangerous' URLSafeSerializer, compressing with a small zlib window: the payload is a
    few hundred bytes, and setting up zlib's default state (a 32 KiB window, 256 KiB of memory)
    cost more than the rest of an anonymous answer. Any URLSafeSerializer reads what it makes
    (a smaller window only changes the compressed stream's header), and reads what it made
    before."""

    def dump_payload(self, obj) -> bytes:
        """JSON, compressed when that is shorter, base64url (URLSafeSerializerMixin's format)."""
        json = Serializer.dump_payload(self, obj)
        packer = zlib.compressobj(6, zlib.DEFLATED, 9, 1)  # level, method, window bits, memory
        compressed = packer.compress(json) + packer.flush()
        if len(compressed) < len(json) - 1:
            return b"." + base64_encode(compressed)
        return base64_encode(json)


def serializer(secret_key: str) -> URLSafeSerializer:
    """Signs the anonymous meter cookie."""
    return _MeterSerializer(secret_key, salt=SALT)


def may_spend(peek: str | None, fetch_mode: str | None, fetch_dest: str | None) -> bool:
    """Whether a question may spend a free read: not a navigation, a sub-resource load, or a
    peek. fetch()/XHR (Sec-Fetch-Dest: empty) and server-side clients (no Sec-Fetch-*) may."""
    if peek == "1":
        return False
    if (fetch_mode or "") == "navigate":
        return False
    return (fetch_dest if fetch_dest is not None else "empty") == "empty"


def reads_in(raw: str | None, signer: URLSafeSerializer) -> list[tuple[str, int]]:
    """The (digest, unix time) pairs of a meter cookie; empty when absent or forged."""
    if not raw or len(raw) > MAX_COOKIE:
        return []
    try:
        data = signer.loads(raw)
    except BadSignature:
        return []
    if not isinstance(data, list):
        return []
    return [
        (str(item[0]), int(item[1]))
        for item in data
        if isinstance(item, list) and len(item) == 2 and isinstance(item[1], int)
    ]


def article_digest(article: str) -> str:
    """A short digest naming an article inside the anonymous meter cookie."""
    return hashlib.sha256(article.encode()).hexdigest()[:12]


def anonymous_meter(
    reads: list[tuple[str, int]], article: str, spend: bool, limit: int, now: datetime
) -> tuple[Meter, list[tuple[str, int]]]:
    """The meter of a cookie's reads, spending one on `article` when allowed and asked;
    returns the meter and the pairs the cookie should hold now."""
    since = int(now.timestamp()) - MAX_AGE
    current = [(d, t) for d, t in reads if t > since][-max(limit, 1) * 2 :]
    digests = {d for d, _ in current}
    meter = Meter(limit=limit, used=len(digests))
    digest = article_digest(article)
    if digest in digests:
        meter.counted = True
    elif spend and meter.used < limit:
        current.append((digest, int(now.timestamp())))
        meter.used += 1
        meter.counted = meter.spent = True
    return meter, current


def cookie_header(
    signer: URLSafeSerializer, reads: list[tuple[str, int]], secure: bool, now: datetime
) -> str:
    """The Set-Cookie value that stores `reads` (HttpOnly, SameSite=Lax, 30 days from `now`)."""
    return dump_cookie(
        COOKIE_NAME,
        signer.dumps([list(pair) for pair in reads]),
        max_age=MAX_AGE,
        expires=int(now.timestamp()) + MAX_AGE,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
