"""Who asks the access API, read below Flask exactly as the view reads it (membership/access/
views.py `_reader`): a CMS's API key and the member it names, a Bearer access token, the session
cookie, or nobody. Whatever the view would answer with an error, or would answer by writing a
cookie Flask keeps (a session Flask would rewrite, Flask-Login's remember-me bookkeeping), is
left to Flask: who_asks() returns None.

The costly checks are per-process memos of pure functions, bounded: a session cookie's signature
(the age is checked on every use), an access token's signature (tokens.Verifier, which honours
`exp`), an e-mail address's normalisation. Nothing here trusts what a credential says about
perks: the reader's perks are read live (membership/access/fastfacts.py).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from itsdangerous import BadSignature
from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie

from membership.access import api_keys, readers, tokens
from membership.access.services import AccessError

MEMO_SIZE = 4096  # entries of each per-process memo of a pure function


class Who(NamedTuple):
    """Who asks: `kind` as the view names it ("key", "token", "session", "anon"), how to find
    the reader (("session", session id), ("id", user id), ("email", address), or None for
    nobody in particular) and, for "key", the presented API key's hash."""

    kind: str
    name: tuple[str, str | int] | None
    key_hash: str | None = None


ANONYMOUS = Who("anon", None)


class Incoming:
    """The parts of a WSGI request the fast path reads, parsed as Werkzeug's Request does
    (Request.args and Request.cookies), without building one."""

    __slots__ = ("args", "cookies", "environ")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        query = environ.get("QUERY_STRING", "").encode("latin1").decode()
        self.args = MultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))
        self.cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))


def memo(store: dict, key, compute):
    """compute(key), remembered in a bounded per-process dict (pure functions only)."""
    try:
        return store[key]
    except KeyError:
        if len(store) >= MEMO_SIZE:
            store.clear()
        value = store[key] = compute(key)
        return value


def who_asks(request: Incoming, ready: dict[str, Any]) -> Who | None:
    """Who the view would say asks, in its order; None when Flask must answer."""
    environ = request.environ
    presented = environ.get("HTTP_X_API_KEY")
    if presented is not None:
        return _key_holder(presented.strip(), request.args, ready)
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        scheme, _sep, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None  # the view's 401
        try:
            claims = tokens.verifier(ready["app"]).verify(token.strip())
        except tokens.InvalidAccessToken:
            return None  # the view's 401
        return Who("token", ("id", claims.user_id))
    return _session_holder(request, ready)


def _key_holder(key: str, args: MultiDict, ready: dict[str, Any]) -> Who | None:
    """An API key (checked against the database later) and the member it asks about."""
    if not api_keys.plausible(key):
        return None  # the view's 401, without a look-up
    member, email = args.get("member"), args.get("email")
    name = None
    if member or email:
        name = memo(ready["members"], (member, email), _member_name)
        if name is None:
            return None  # the view's 400 or 404
    return Who("key", name, api_keys.hash_key(key))


def _member_name(asked: tuple[str | None, str | None]) -> tuple[str, str | int] | None:
    """readers.member_lookup() of (member, email); None when it names nobody or is refused."""
    try:
        by, who = readers.member_lookup(*asked)
    except AccessError:
        return None
    return (by, who) if who is not None else None


def _session_holder(request: Incoming, ready: dict[str, Any]) -> Who | None:
    """The session cookie's reader, or nobody, when Flask would read it without rewriting."""
    raw = request.cookies.get(ready["cookie"])
    if not raw:
        # No session: Flask-Login finds nobody, unless a remember-me cookie signs someone in.
        return None if ready["remember_cookie"] in request.cookies else ANONYMOUS
    data = session_data(raw, ready)
    if data is None:
        return None
    if data.get("_permanent") and ready["refresh"]:
        return None  # Flask re-sends a permanent session's cookie on every answer
    if "_remember" in data:
        return None  # Flask-Login's remember-me bookkeeping writes cookies
    protection = ready["protection"]
    foreign = bool(protection) and data.get("_id") != memo(
        ready["identifiers"], request_client(request.environ), login_identifier
    )
    user_id = data.get("_user_id")
    if user_id is None:
        # The view asks Flask-Login, which finds nobody here but may mark the session:
        # session protection sets `_fresh` to False on a session from another client.
        if ready["remember_cookie"] in request.cookies:
            return None
        if foreign and data and (protection == "strong" or data.get("_fresh") is not False):
            return None
        return ANONYMOUS
    if not isinstance(user_id, str) or foreign:
        return None
    return Who("session", ("session", user_id))


def session_data(raw: str, ready: dict[str, Any]) -> dict | None:
    """The session cookie's data as Flask would open it (signature, then age), or None.

    Verified cookies are remembered by their exact text (signature included) with the time
    they were signed, so a reader's next question skips the HMAC and the JSON; the age is
    checked on every use. A per-process memo of a pure function, bounded.
    """
    seen = ready["sessions"].get(raw)
    if seen is None:
        try:
            data, signed = ready["serializer"].loads(
                raw, max_age=ready["max_age"], return_timestamp=True
            )
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        if len(ready["sessions"]) >= MEMO_SIZE:
            ready["sessions"].clear()
        seen = ready["sessions"][raw] = (data, signed.timestamp())
    data, signed_at = seen
    age = time.time() - signed_at
    if age > ready["max_age"] or age < 0:
        return None
    return data


def request_client(environ: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """What Flask-Login's identifier depends on: (X-Forwarded-For, REMOTE_ADDR, User-Agent)."""
    return (
        environ.get("HTTP_X_FORWARDED_FOR"),
        environ.get("REMOTE_ADDR"),
        environ.get("HTTP_USER_AGENT"),
    )


def login_identifier(client: tuple[str | None, str | None, str | None]) -> str:
    """Flask-Login's session-protection identifier (flask_login.utils._create_identifier) of a
    request_client() tuple."""
    forwarded, address, agent = client
    address = forwarded if forwarded is not None else address
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    if agent is not None:
        agent = agent.encode("utf-8")
    return hashlib.sha512(f"{address}|{agent}".encode()).hexdigest()
