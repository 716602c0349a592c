"""Helpers for the access fast-path tests: counting what reaches Flask, asking the same question
with the fast path off and on, and credentials of every kind."""

from __future__ import annotations

import select
from datetime import datetime, timedelta

from membership.access import api_keys, meter, tokens
from membership.access.fastpath import AccessFastPath
from membership.access.models import ApiKey
from membership.accounts.models import User
from membership.extensions import db
from membership.timeutil import utcnow

URL = "/api/v1/access"


def fast_path(app) -> AccessFastPath:
    """The AccessFastPath in the app's WSGI chain."""
    layer = app.wsgi_app
    while not isinstance(layer, AccessFastPath):
        layer = layer.wsgi_app
    return layer


class Watch:
    """Counts the requests the fast path hands on to Flask."""

    def __init__(self, app) -> None:
        self.fast = fast_path(app)
        self.flask = self.fast.wsgi_app
        self.passed = 0
        self.fast.wsgi_app = self._flask

    def _flask(self, environ, start_response):
        self.passed += 1
        return self.flask(environ, start_response)


def notification_arrived(app, seconds: float = 15.0) -> None:
    """On PostgreSQL, wait until a NOTIFY has reached this thread's fast-path connection (the
    documented moment between another session's commit and the notification's arrival, which a
    loaded machine stretches); SQLite keeps no cache, so there is nothing to wait for."""
    ready = fast_path(app)._ready
    state = getattr(ready["facts"].local, "state", None) if ready else None
    if state is None or state.cache is None:
        return
    pgconn = state.connection.driver_connection.pgconn
    readable, _, _ = select.select([pgconn.socket], [], [], seconds)
    assert readable, "no notification arrived"


def both(app, query: dict, headers: dict | None = None):
    """The view's answer (fast path off), then the fast path's, to the same request from a
    client without a cookie jar (cookies travel only in `headers`); the Watch says who
    answered the second."""
    plain = app.test_client(use_cookies=False)
    app.config["ACCESS_FAST_PATH"] = False
    slow = plain.get(URL, query_string=query, headers=headers or {})
    app.config["ACCESS_FAST_PATH"] = True
    watch = Watch(app)
    fast = plain.get(URL, query_string=query, headers=headers or {})
    return slow, fast, watch


def assert_same(slow, fast) -> None:
    """Byte for byte: status, every header (names, values, order) and the body."""
    assert fast.status == slow.status
    assert list(fast.headers) == list(slow.headers)
    assert fast.data == slow.data


def session_cookie(app, data: dict) -> str:
    """A session cookie holding `data`, signed as Flask signs it."""
    return app.session_interface.get_signing_serializer(app).dumps(data)


def access_token(app, user_id: int, perks: list[str], now: datetime | None = None) -> str:
    """An access token as the app issues it."""
    with app.test_request_context():
        value, _expires = tokens.issue(user_id, perks, now=now)
    return value


def meter_cookie(app, articles: list[str], ago: timedelta = timedelta(hours=1)) -> str:
    """An anonymous meter cookie holding free reads of `articles`, spent `ago`."""
    when = int((utcnow() - ago).timestamp())
    pairs = [[meter.article_digest(article), when] for article in articles]
    return meter.serializer(app.config["SECRET_KEY"]).dumps(pairs)


def api_key(app, user_id: int, used: timedelta | None = timedelta(minutes=-5)) -> str:
    """A new API key made by `user_id`, last used `used` from now (None: never)."""
    with app.app_context():
        row, key = api_keys.create_api_key("CMS", db.session.get(User, user_id))
        row.last_used_at = utcnow() + used if used is not None else None
        db.session.commit()
    return key


def revoke_api_key(app, key: str) -> None:
    """Revoke a key as an admin does."""
    with app.app_context():
        row = db.session.scalar(db.select(ApiKey).where(ApiKey.key_hash == api_keys.hash_key(key)))
        api_keys.revoke_api_key(row, db.session.get(User, row.created_by_id))
        db.session.commit()
