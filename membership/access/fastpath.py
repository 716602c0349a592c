"""WSGI fast path for the CMS's most frequent question: a signed-in reader asks about an article.

`GET /api/v1/access?article=…[&tag=…]` with a session cookie is answered here, below Flask, when
the answer needs nothing but two facts: who the session's reader is with the perks they hold
now, and which perk the article needs. On SQLite both come from the database on every question,
in one round trip. On PostgreSQL they come from this thread's live cache as far as it still
knows them (membership/access/live.py: kept exact by the database's notifications), else from
the same round trip. A revoked perk closes the article on the next question either way.

Everything else falls through to Flask unchanged: API keys, Bearer tokens, `perk=`, `lang=`,
anonymous readers, readers who need the meter (it writes), a session Flask would rewrite
(permanent, remember-me bookkeeping, a changed client under session protection), an
`access_token` cookie that is due for renewal, and any input the view would refuse. The answer
is byte for byte the view's; tests/access/test_access_fast_path.py compares them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from itsdangerous import BadSignature
from sqlalchemy import event
from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie

from membership.access import live, services, tokens
from membership.access.services import AccessError
from membership.database import HotQuery
from membership.extensions import db
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

PATH = "/api/v1/access"
MAX_TAGS = 20  # the view's bound (membership.access.views.MAX_TAGS)
# Query parameters that need the view (the others are article, tag, and peek, which only
# matters to the meter).
FLASK_ARGS = {"perk", "lang", "member", "email"}
MEMO_SIZE = 4096  # entries of each per-process memo of a pure function
VARY = "Cookie, Authorization, X-API-Key, Origin"


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


def _memo(store: dict, key, compute):
    """compute(key), remembered in a bounded per-process dict (pure functions only)."""
    try:
        return store[key]
    except KeyError:
        if len(store) >= MEMO_SIZE:
            store.clear()
        value = store[key] = compute(key)
        return value


class Incoming:
    """The parts of a WSGI request the fast path reads, parsed as Werkzeug's Request does
    (Request.args and Request.cookies), without building one."""

    __slots__ = ("args", "cookies", "environ")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        query = environ.get("QUERY_STRING", "").encode("latin1").decode()
        self.args = MultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))
        self.cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))


class _ThreadState:
    """One thread's DBAPI connection, its compiled statements' runner and its live cache."""

    def __init__(self, connection, cache: live.LiveCache | None, hot: dict, dialect) -> None:
        self.connection = connection
        self.cache = cache
        self.hot = hot
        self.dialect = dialect

    def execute(self, statement, params) -> list[tuple]:
        """Run a statement compiled once per process (HotQuery) on this connection."""
        query = self.hot.get(statement)
        if query is None:
            query = self.hot[statement] = HotQuery(statement, self.dialect)
        return query.rows(self.connection.driver_connection, params)


class AccessFastPath:
    """WSGI middleware in front of the app: answers the common signed-in question, or passes."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._ready: dict[str, Any] | None = None

    def _setup(self) -> dict[str, Any]:
        """Per-process, built on first use: the engine, the session serializer, the headers."""
        app = self.app
        with app.app_context():
            engine = db.engine
        held: list = []  # every connection this process holds, given back on engine.dispose()
        event.listen(engine, "engine_disposed", lambda _engine: _release(held))
        config = app.config
        return {
            "engine": engine,
            "sessions": {},  # cookie text → (data, signed at): see _session_data
            "hot": {},  # statement → HotQuery (a handful: one per number of candidate values)
            "peeked": {},  # access_token text → its claims (tokens.peek, unverified)
            "identifiers": {},  # (forwarded, address, agent) → Flask-Login identifier
            "local": threading.local(),  # this thread's _ThreadState
            "live": bool(config.get("ACCESS_LIVE_CACHE", True)),
            "held": held,
            "serializer": app.session_interface.get_signing_serializer(app),
            "cookie": app.config["SESSION_COOKIE_NAME"],
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
            and "HTTP_AUTHORIZATION" not in environ
            and "HTTP_X_API_KEY" not in environ
            and "HTTP_COOKIE" in environ
            and self.app.config.get("ACCESS_FAST_PATH", True)
        ):
            try:
                incoming = Incoming(environ)
            except UnicodeDecodeError:  # Flask's answer to a query that is not UTF-8
                incoming = None
            answer = self._answer(incoming) if incoming is not None else None
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, request: Incoming) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of the view's answer, or None to let Flask answer."""
        if self._ready is None:
            self._ready = self._setup()
        ready = self._ready
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

        token = self._session_token(request, ready)
        if token is None:
            return None
        try:
            reader, requirement = self._facts(ready, token, article, tags)
        except ready["engine"].dialect.loaded_dbapi.Error:
            log.warning("access fast path: database error, passing to Flask", exc_info=True)
            return None
        except Exception:  # a bug here must cost speed, never the reader's answer
            log.exception("access fast path failed; passing to Flask")
            return None
        if reader is None:
            return None  # signed out elsewhere, deleted: Flask treats them as anonymous
        required = requirement.perk
        user_id, perks = reader
        if required is not None and required not in perks:
            return None  # the meter decides, and it may write
        present = request.cookies.get(tokens.COOKIE_NAME)
        claims = _memo(ready["peeked"], present, tokens.peek) if present else None
        if tokens.needs_renewal(claims, user_id, perks, int(time.time()), ready["ttl"]):
            return None  # Flask sets the renewed cookie
        decision = services.decide(required, perks, None)
        body = self.app.json.dumps(decision.as_dict(), separators=(",", ":")) + "\n"
        payload = body.encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "private, no-store"),
            ("Vary", VARY),
        ]
        origin = request.environ.get("HTTP_ORIGIN")
        if origin and origin.rstrip("/") in ready["origins"]:
            headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
            ]
        headers += ready["security"]
        return "200 OK", headers, payload

    def _facts(self, ready: dict[str, Any], token: str, article: str, tags: list[str]):
        """(reader or None, requirement): from this thread's live cache as far as it still knows
        them (PostgreSQL, see membership/access/live.py), else in one round trip."""
        state = self._thread_state(ready)
        cache = state.cache
        now = utcnow()
        try:
            if cache is None:
                reader, requirement, _until = services.reader_and_requirement(
                    token, article, tags, state.execute, now
                )
                return reader, requirement
            self._drain(state)
            rules = cache.rules_table()
            if rules is None:
                before = cache.notifications
                rules = services.all_rules(state.execute, live.MAX_RULES)
                if rules is not None:
                    cache.keep_rules(rules, before)
            if rules is None:  # too many to remember: this article's, from the database
                reader, requirement, until = services.reader_and_requirement(
                    token, article, tags, state.execute, now, boundary=True
                )
                return reader, requirement
            requirement = services.requirement_in(rules, article, tags)
            reader = cache.reader(token, now)
            if reader is None:
                before = cache.notifications
                reader, until = services.reader_until(token, state.execute, now)
                if reader is not None:
                    cache.keep_reader(token, reader, until, before)
            return reader, requirement
        except Exception:
            self._drop(state, ready)
            raise

    def _thread_state(self, ready: dict[str, Any]) -> _ThreadState:
        """This thread's connection (checked out once and kept: a checkout and check-in per
        answer cost a third of the fast path) and, on PostgreSQL, its live cache."""
        state = getattr(ready["local"], "state", None)
        if state is not None and state.connection.dbapi_connection is not None:
            return state
        engine = ready["engine"]
        connection = engine.raw_connection()
        cache = None
        if engine.dialect.name == "postgresql":
            driver = connection.driver_connection
            driver.autocommit = True  # reads only: no BEGIN and ROLLBACK round trips
            if ready["live"]:
                cache = live.LiveCache()
                driver.add_notify_handler(lambda notify: cache.notify(notify.payload))
                driver.execute(f"LISTEN {live.CHANNEL}")
        state = _ThreadState(connection, cache, ready["hot"], engine.dialect)
        ready["local"].state = state
        ready["held"].append(connection)
        return state

    @staticmethod
    def _drain(state: _ThreadState) -> None:
        """Read the notifications that have arrived, without a round trip."""
        pgconn = state.connection.driver_connection.pgconn
        pgconn.consume_input()
        while (notify := pgconn.notifies()) is not None:
            state.cache.notify(notify.extra.decode())

    @staticmethod
    def _drop(state: _ThreadState, ready: dict[str, Any]) -> None:
        """Forget a broken connection (and its cache); the next answer takes a fresh one."""
        ready["local"].state = None
        if state.connection in ready["held"]:
            ready["held"].remove(state.connection)
        state.connection.invalidate()

    def _session_token(self, request: Incoming, ready: dict[str, Any]) -> str | None:
        """The Flask-Login session id from a session cookie Flask would read without rewriting."""
        raw = request.cookies.get(ready["cookie"])
        if not raw:
            return None
        data = self._session_data(raw, ready)
        if data is None:
            return None
        user_id = data.get("_user_id")
        if not isinstance(user_id, str):
            return None
        if data.get("_permanent") and ready["refresh"]:
            return None  # Flask re-sends a permanent session's cookie on every answer
        if "_remember" in data:
            return None  # Flask-Login's remember-me bookkeeping writes cookies
        if ready["protection"] and data.get("_id") != _memo(
            ready["identifiers"], request_client(request.environ), login_identifier
        ):
            return None  # session protection marks the session non-fresh: a rewrite
        return user_id

    @staticmethod
    def _session_data(raw: str, ready: dict[str, Any]) -> dict | None:
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


def _release(held: list) -> None:
    """Close the held connections (their pool was just disposed of)."""
    while held:
        connection = held.pop()
        try:
            connection.invalidate()  # closes the DBAPI connection; nothing goes back to a pool
        except Exception:
            log.debug("access fast path: closing a connection failed", exc_info=True)


def init_app(app: Flask) -> None:
    """Put the access fast path in front of the app."""
    app.wsgi_app = AccessFastPath(app, app.wsgi_app)
