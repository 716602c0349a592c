"""The access fast path answers a signed-in reader's common question exactly as the view does,
and hands every other request to Flask."""

from __future__ import annotations

import select

import pytest
from flask_login.utils import _create_identifier

from membership.access.fastpath import AccessFastPath, login_identifier, request_client
from membership.accounts.models import User, new_session_token
from membership.extensions import db

pytestmark = pytest.mark.config(METER_FREE_ARTICLES=3, CMS_ORIGINS=["https://www.example.org"])
URL = "/api/v1/access"


def _fast_path(app) -> AccessFastPath:
    """The AccessFastPath in the app's WSGI chain."""
    layer = app.wsgi_app
    while not isinstance(layer, AccessFastPath):
        layer = layer.wsgi_app
    return layer


class Watch:
    """Counts the requests the fast path hands on to Flask."""

    def __init__(self, app) -> None:
        self.fast = _fast_path(app)
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
    ready = _fast_path(app)._ready
    state = getattr(ready["local"], "state", None) if ready else None
    if state is None or state.cache is None:
        return
    pgconn = state.connection.driver_connection.pgconn
    readable, _, _ = select.select([pgconn.socket], [], [], seconds)
    assert readable, "no notification arrived"


@pytest.fixture
def member(world, auth):
    """A signed-in reader with members-only articles; a rule closes the river report."""
    world.rule("slug", "the-river-report")
    world.rule("path", "/investigations")
    world.rule("tag", "insider", "insider-newsletter")
    user = world.user()
    world.grant(user)
    auth.login()
    return user


def _both(app, client, query: dict, headers: dict | None = None):
    """The view's answer (fast path off) and then the fast path's, for the same request."""
    app.config["ACCESS_FAST_PATH"] = False
    slow = client.get(URL, query_string=query, headers=headers or {})
    app.config["ACCESS_FAST_PATH"] = True
    fast = client.get(URL, query_string=query, headers=headers or {})
    return slow, fast


@pytest.mark.parametrize(
    ("query", "headers", "allowed", "reason"),
    [
        ({"article": "the-river-report"}, {}, True, "perk"),
        ({"article": "https://news.example/investigations/2026/dam"}, {}, True, "perk"),
        ({"article": "weather-week"}, {}, True, "open"),
        ({"article": "weather-week", "tag": ["sport", "culture"]}, {}, True, "open"),
        ({"article": "the-river-report"}, {"Origin": "https://www.example.org"}, True, "perk"),
        ({"article": "the-river-report"}, {"Origin": "https://evil.example"}, True, "perk"),
        ({"article": "the-river-report", "peek": "1"}, {}, True, "perk"),
    ],
)
def test_the_fast_path_answers_like_the_view(app, client, member, query, headers, allowed, reason):
    client.get(URL, query_string={"article": "warm-up"})  # the token cookie is current now
    watch = Watch(app)
    slow, fast = _both(app, client, query, headers)
    assert watch.passed == 1, "the fast path should have answered the second request"
    assert fast.status_code == slow.status_code == 200
    assert fast.get_json()["allowed"] is allowed and fast.get_json()["reason"] == reason
    assert fast.data == slow.data
    assert dict(fast.headers) == dict(slow.headers)


def test_a_revoked_perk_closes_the_article_on_the_next_question(app, client, member, world):
    grant = world.grant(member, "ad-free")
    client.get(URL, query_string={"article": "warm-up"})
    watch = Watch(app)
    assert client.get(URL, query_string={"article": "the-river-report"}).get_json()["allowed"]
    assert watch.passed == 0
    world.revoke(grant)
    notification_arrived(app)
    body = client.get(URL, query_string={"article": "the-river-report"}).get_json()
    assert body["perks"] == ["members-only-articles"]
    assert watch.passed == 1  # the perks changed: Flask renews the token cookie
    body = client.get(URL, query_string={"article": "the-river-report"}).get_json()
    assert body["perks"] == ["members-only-articles"] and watch.passed == 1


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ({"article": "insider-tips", "tag": "insider"}, {}),  # needs the meter: it writes
        ({"article": "the-river-report", "perk": "members-only-articles"}, {}),
        ({"article": "the-river-report", "lang": "ru"}, {}),
        ({"article": ""}, {}),  # a 400 the view explains
        ({"article": "x", "tag": [f"t{i}" for i in range(21)]}, {}),
        ({"article": "the-river-report"}, {"User-Agent": "another browser"}),  # protection
        ({"article": "the-river-report"}, {"Authorization": "Bearer nonsense"}),
        ({"article": "the-river-report"}, {"X-API-Key": "mk_nonsense"}),
    ],
)
def test_other_questions_go_to_flask(app, client, member, query, headers):
    client.get(URL, query_string={"article": "warm-up"})
    watch = Watch(app)
    client.get(URL, query_string=query, headers=headers)
    assert watch.passed == 1


def test_anonymous_and_forged_sessions_go_to_flask(app, client, world):
    world.rule("slug", "the-river-report")
    watch = Watch(app)
    client.get(URL, query_string={"article": "the-river-report"})
    client.set_cookie("session", "forged.cookie.value")
    body = client.get(URL, query_string={"article": "the-river-report"}).get_json()
    # Answered as for the anonymous reader it is: the same free read again, no account's perks.
    assert body == {
        "allowed": True, "reason": "metered", "perks": [], "required_perk": "members-only-articles",
        "meter": {"limit": 3, "used": 1, "remaining": 2},
    }  # fmt: skip
    assert watch.passed == 2


def test_a_session_ended_elsewhere_is_not_answered_for(app, client, member):
    client.get(URL, query_string={"article": "warm-up"})
    with app.app_context():  # a password change on another device ends this session
        user = db.session.get(User, member)
        user.session_token = new_session_token()
        db.session.commit()
    notification_arrived(app)
    watch = Watch(app)
    body = client.get(URL, query_string={"article": "the-river-report"}).get_json()
    assert body["perks"] == [] and watch.passed == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"User-Agent": "Mozilla/5.0 (X11) ქართული"},
        {"X-Forwarded-For": "203.0.113.9, 10.0.0.1", "User-Agent": "a"},
    ],
)
def test_the_login_identifier_is_flask_logins(app, headers):
    with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.1"}):
        from flask import request

        assert login_identifier(request_client(request.environ)) == _create_identifier()


@pytest.mark.config(ACCESS_LIVE_CACHE=False)  # every question reads (as on SQLite)
def test_a_database_error_passes_the_question_to_flask_and_the_next_one_reconnects(
    app, client, member, monkeypatch
):
    from membership.database import HotQuery

    client.get(URL, query_string={"article": "warm-up"})
    watch = Watch(app)
    with app.app_context():
        error = db.engine.dialect.loaded_dbapi.OperationalError
    original = HotQuery.rows
    calls = {"n": 0}

    def broken_once(self, connection, values):
        calls["n"] += 1
        if calls["n"] == 1:
            raise error("server closed the connection unexpectedly")
        return original(self, connection, values)

    monkeypatch.setattr(HotQuery, "rows", broken_once)
    first = client.get(URL, query_string={"article": "the-river-report"})
    assert first.status_code == 200 and first.get_json()["allowed"] is True  # Flask answered
    assert watch.passed == 1
    second = client.get(URL, query_string={"article": "the-river-report"})
    assert second.get_json()["allowed"] is True
    assert watch.passed == 1  # the fast path answered again, on a fresh connection


def test_an_unexpected_error_in_the_fast_path_lets_flask_answer(app, client, member, monkeypatch):
    from membership.access import services

    client.get(URL, query_string={"article": "warm-up"})
    watch = Watch(app)

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(services, "requirement_in", broken)
    monkeypatch.setattr(services, "reader_and_requirement", broken)
    response = client.get(URL, query_string={"article": "the-river-report"})
    assert response.status_code == 200 and response.get_json()["allowed"] is True
    assert watch.passed == 1
