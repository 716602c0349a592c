"""WSGI fast path for the CMS's questions: `GET /api/v1/access?article=…[&tag=…][&peek=1]`.

Answered here, below Flask, for every kind of asker whenever the answer needs nothing but
reading: an anonymous reader (an open article, or a metered one: the anonymous meter lives in a
signed cookie, so its answer and its Set-Cookie are computed here as the view computes them,
from the request alone: membership/access/meter.py), a reader signed in by the session cookie,
a Bearer access token, and a CMS's API key with or without `member=`/`email=`. Who asks is read
as the view reads it (membership/access/fastwho.py); the reader's perks, the article's rule and
the key's state come from the database or this thread's live cache
(membership/access/fastfacts.py). A revoked perk or API key is refused on the next question.

Everything else falls through to Flask unchanged: `perk=`, `lang=`, a reader who holds an
account but not the perk (the account's meter may write), an API key whose hourly last-use mark
is due (a write), a session Flask would rewrite, an `access_token` cookie due for renewal, any
error answer (a bad token or key, an unknown member, input the view refuses). The answer is
byte for byte the view's; tests/access/test_access_fast_path.py compares them for each kind.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask

from membership.access import fastwho, meter, services, tokens
from membership.access.fastfacts import Facts
from membership.access.fastwho import Incoming, memo
from membership.access.services import AccessError
from membership.extensions import db
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

PATH = "/api/v1/access"
MAX_TAGS = 20  # the view's bound (membership.access.views.MAX_TAGS)
FLASK_ARGS = {"perk", "lang"}  # query parameters that need the view
VARY = "Cookie, Authorization, X-API-Key, Origin"


class AccessFastPath:
    """WSGI middleware in front of the app: answers what only needs reading, or passes."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._ready: dict[str, Any] | None = None

    def _setup(self) -> dict[str, Any]:
        """Per process, built on first use: the facts, the serializers, the fixed headers."""
        app = self.app
        with app.app_context():
            engine = db.engine
        config = app.config
        return {
            "app": app,
            "facts": Facts(engine, bool(config.get("ACCESS_LIVE_CACHE", True))),
            "sessions": {},  # cookie text → (data, signed at): see fastwho.session_data
            "peeked": {},  # access_token text → its claims (tokens.peek, unverified)
            "identifiers": {},  # (forwarded, address, agent) → Flask-Login identifier
            "members": {},  # (member, email) → how to find that member
            "meter_reads": {},  # meter cookie text → its reads (meter.reads_in)
            "meter_signer": meter.serializer(config["SECRET_KEY"]),
            "serializer": app.session_interface.get_signing_serializer(app),
            "cookie": config["SESSION_COOKIE_NAME"],
            "max_age": int(app.permanent_session_lifetime.total_seconds()),
            "refresh": bool(config.get("SESSION_REFRESH_EACH_REQUEST", True)),
            "remember_cookie": config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            "origins": set(config.get("CMS_ORIGINS", ())),
            "security": app.extensions["security_headers"]["closed"],
            "ttl": int(config["ACCESS_TOKEN_TTL"]),
            "protection": config.get("SESSION_PROTECTION", "basic"),
        }

    def __call__(self, environ, start_response):
        """Answer here when possible; otherwise hand the request to Flask untouched."""
        if (
            environ.get("PATH_INFO") == PATH
            and environ.get("REQUEST_METHOD") == "GET"
            and self.app.config.get("ACCESS_FAST_PATH", True)
        ):
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of the view's answer, or None to let Flask answer."""
        if self._ready is None:
            self._ready = self._setup()
        ready = self._ready
        query = environ.get("QUERY_STRING", "")
        if "\x00" in query or "%00" in query.lower():
            return None  # the edge's 400 (membership/edge.py)
        try:
            request = Incoming(environ)
        except UnicodeDecodeError:  # Flask's answer to a query that is not UTF-8
            return None
        args = request.args
        if self.app.debug or any(name in args for name in FLASK_ARGS):
            return None  # (debug: Flask indents its JSON)
        tags = args.getlist("tag")
        if len(tags) > MAX_TAGS:
            return None
        try:
            article = services.check_ref(args.get("article") or "", "article")
            tags = [services.check_ref(tag, "tag") for tag in tags]
        except AccessError:
            return None  # the view explains the 400

        who = fastwho.who_asks(request, ready)
        if who is None:
            return None
        now = utcnow()
        facts = ready["facts"]
        try:
            reader, requirement, key_ok = facts.read(who, article, tags, now)
        except facts.errors:
            log.warning("access fast path: database error, passing to Flask", exc_info=True)
            return None
        except Exception:  # a bug here must cost speed, never the reader's answer
            log.exception("access fast path failed; passing to Flask")
            return None
        if not key_ok:
            return None  # unknown or revoked (the view's 401), or its last use is due a mark
        kind = who.kind
        if who.name is not None and reader is None:
            if kind != "session":
                return None  # the view's 401 (a deleted account's token) or 404 (no member)
            kind = "anon"  # signed out elsewhere, deleted: the view answers as for nobody
        user_id, perks = reader if reader is not None else (None, [])
        required = requirement.perk
        free = cookie = None
        if required is not None and required not in perks:
            if user_id is not None:
                return None  # the account's meter decides, and it may write
            if kind == "anon":
                free, cookie = self._anonymous_meter(request, ready, article, now)
        if kind == "session" and self._token_cookie_due(request, ready, user_id, perks):
            return None  # Flask sets the renewed cookie
        return self._response(request, ready, services.decide(required, perks, free), cookie)

    def _anonymous_meter(self, request: Incoming, ready: dict[str, Any], article: str, now):
        """The anonymous meter of the request's cookie, and the Set-Cookie value that the view
        would send (None when the cookie stays as it is)."""
        environ = request.environ
        spend = meter.may_spend(
            request.args.get("peek"),
            environ.get("HTTP_SEC_FETCH_MODE"),
            environ.get("HTTP_SEC_FETCH_DEST"),
        )
        signer = ready["meter_signer"]
        raw = request.cookies.get(meter.COOKIE_NAME)
        # (reads_in is pure; its list is shared by the memo and never changed)
        reads = memo(ready["meter_reads"], raw, lambda text: meter.reads_in(text, signer))
        limit = services.meter_limit(self.app.config)
        free, updated = meter.anonymous_meter(reads, article, spend, limit, now)
        if updated == reads:
            return free, None
        secure = self.app.config.get("ACCESS_COOKIE_SECURE", True)
        return free, meter.cookie_header(signer, updated, secure, now)

    @staticmethod
    def _token_cookie_due(request: Incoming, ready, user_id: int, perks: list[str]) -> bool:
        """Whether the view's hook would renew the `access_token` cookie (a signed-in reader)."""
        present = request.cookies.get(tokens.COOKIE_NAME)
        claims = memo(ready["peeked"], present, tokens.peek) if present else None
        return tokens.needs_renewal(claims, user_id, perks, int(time.time()), ready["ttl"])

    def _response(self, request: Incoming, ready, decision, cookie: str | None):
        """The view's 200: its body and headers, in its order."""
        body = self.app.json.dumps(decision.as_dict(), separators=(",", ":")) + "\n"
        payload = body.encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "private, no-store"),
            ("Vary", VARY),
        ]
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        origin = request.environ.get("HTTP_ORIGIN")
        if origin and origin.rstrip("/") in ready["origins"]:
            headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
            ]
        headers += ready["security"]
        return "200 OK", headers, payload


def init_app(app: Flask) -> None:
    """Put the access fast path in front of the app."""
    app.wsgi_app = AccessFastPath(app, app.wsgi_app)
