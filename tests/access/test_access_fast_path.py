"""The access fast path answers every kind of question exactly as the view does (status, every
header in order, body), and hands every question it cannot answer that way to Flask."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login.utils import _create_identifier

from membership.access.fastwho import login_identifier, request_client
from membership.accounts.models import User, new_session_token
from membership.extensions import db
from tests.access.fastpath_helpers import (
    URL,
    Watch,
    access_token,
    api_key,
    assert_same,
    both,
    meter_cookie,
    notification_arrived,
    session_cookie,
)

ORIGIN = "https://www.example.org"
pytestmark = pytest.mark.config(METER_FREE_ARTICLES=3, CMS_ORIGINS=[ORIGIN])


@pytest.fixture
def rules(world):
    """The river report and /investigations need members-only articles; tag insider needs the
    newsletter; the council notes inside /investigations are explicitly open."""
    world.rule("slug", "the-river-report")
    world.rule("path", "/investigations")
    world.rule("tag", "insider", "insider-newsletter")
    world.rule("slug", "city-council-notes", None)


@pytest.fixture
def member(world, rules, auth):
    """A signed-in reader with members-only articles."""
    user = world.user()
    world.grant(user)
    auth.login()
    return user


@pytest.fixture
def signed_in(app, client, member) -> dict[str, str]:
    """The member's cookies, once Flask has set a current access-token cookie."""
    client.get(URL, query_string={"article": "warm-up"})
    session = client.get_cookie("session").value
    token = client.get_cookie("access_token").value
    return {"Cookie": f"session={session}; access_token={token}"}


# --- every kind, compared with the view --------------------------------------------------------

ANONYMOUS = [
    ({"article": "weather-week"}, "open"),
    ({"article": "weather-week", "tag": ["sport", "culture"]}, "open"),
    ({"article": "/investigations/2026/city-council-notes"}, "open"),
    ({"article": "the-river-report"}, "metered"),
    ({"article": "https://news.example/investigations/dam"}, "metered"),
    ({"article": "insider-tips", "tag": "insider"}, "metered"),
    ({"article": "the-river-report", "peek": "1"}, "metered"),
]


@pytest.mark.parametrize(("query", "reason"), ANONYMOUS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": ORIGIN},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
        {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
        {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},
        {"Cookie": "access_token=left.over.token; lang=ka"},
    ],
)
def test_an_anonymous_reader_is_answered_like_the_view(
    app, rules, stopped_clock, query, reason, headers
):
    slow, fast, watch = both(app, query, headers)
    assert watch.passed == 0, "the fast path should have answered"
    assert slow.status_code == 200 and slow.get_json()["reason"] == reason
    assert_same(slow, fast)


A, B, C, D = (f"/investigations/{name}" for name in "abcd")
HOUR, MONTH = timedelta(hours=1), timedelta(days=31)


@pytest.mark.parametrize(
    ("read", "article", "ago", "reason", "rewritten"),
    [
        # articles in the cookie, the article asked, how long ago they were read, the answer's
        # reason and whether a read (not a peek) sets the cookie again
        ([A], B, HOUR, "metered", True),  # spends one
        ([A], A, HOUR, "metered", False),  # read already: free
        ([A, B, C], D, HOUR, "meter_exhausted", False),
        ([A, B, C], B, HOUR, "metered", False),
        ([A, B, C], D, MONTH, "metered", True),  # the old reads have expired
        ([A] * 9, D, HOUR, "metered", True),  # trimmed to twice the limit, and spends one
    ],
)
@pytest.mark.parametrize("peek", [False, True])
def test_the_anonymous_meter_cookie_is_read_and_rewritten_like_the_view(
    app, rules, stopped_clock, read, article, ago, reason, rewritten, peek
):
    query = {"article": article} | ({"peek": "1"} if peek else {})
    slow, fast, watch = both(app, query, {"Cookie": f"meter={meter_cookie(app, read, ago)}"})
    assert watch.passed == 0
    assert slow.get_json()["reason"] == reason  # a peek says what a read would get
    if not peek:
        assert ("Set-Cookie" in slow.headers) is rewritten
    assert_same(slow, fast)


@pytest.mark.parametrize(
    "cookie",
    ["forged.value", "x" * 3000, "", "W1tdXQ.not-signed"],
)
def test_a_meter_cookie_that_is_not_ours_counts_nothing_on_both_paths(
    app, rules, stopped_clock, cookie
):
    slow, fast, watch = both(app, {"article": "the-river-report"}, {"Cookie": f"meter={cookie}"})
    assert watch.passed == 0
    assert slow.get_json()["meter"]["used"] == 1
    assert_same(slow, fast)


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_without_metering_an_anonymous_reader_is_refused_like_the_view(app, rules):
    slow, fast, watch = both(app, {"article": "the-river-report"})
    assert watch.passed == 0 and slow.get_json()["reason"] == "perk_required"
    assert_same(slow, fast)


SIGNED_IN = [
    ({"article": "the-river-report"}, {}, "perk"),
    ({"article": "https://news.example/investigations/2026/dam"}, {}, "perk"),
    ({"article": "weather-week"}, {}, "open"),
    ({"article": "weather-week", "tag": ["sport", "culture"]}, {}, "open"),
    ({"article": "the-river-report"}, {"Origin": ORIGIN}, "perk"),
    ({"article": "the-river-report"}, {"Origin": "https://evil.example"}, "perk"),
    ({"article": "the-river-report", "peek": "1"}, {}, "perk"),
]


@pytest.mark.parametrize(("query", "headers", "reason"), SIGNED_IN)
def test_a_signed_in_reader_is_answered_like_the_view(app, signed_in, query, headers, reason):
    slow, fast, watch = both(app, query, headers | signed_in)
    assert watch.passed == 0
    assert slow.get_json()["reason"] == reason
    assert_same(slow, fast)


@pytest.mark.parametrize(("query", "headers", "reason"), SIGNED_IN)
def test_a_bearer_token_is_answered_like_the_view(app, member, query, headers, reason):
    token = access_token(app, member, ["members-only-articles"])
    slow, fast, watch = both(app, query, headers | {"Authorization": f"Bearer {token}"})
    assert watch.passed == 0
    assert slow.get_json()["reason"] == reason
    assert_same(slow, fast)


def test_a_bearer_token_wins_over_a_session_on_both_paths(app, member, world, signed_in):
    other = world.user("other@example.org")
    token = access_token(app, other, ["members-only-articles"])  # what it says is not trusted
    headers = signed_in | {"Authorization": f"bearer  {token} "}
    slow, fast, watch = both(app, {"article": "weather-week"}, headers)
    assert watch.passed == 0
    assert slow.get_json()["perks"] == []  # the other reader holds nothing
    assert_same(slow, fast)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"member": "{id}"}, "perk"),
        ({"email": "reader@example.org"}, "perk"),
        ({"email": " Reader@Example.ORG "}, "perk"),
        ({"member": "{id}", "email": "nobody@example.org"}, "perk"),  # member= wins
        ({"member": "", "email": "reader@example.org"}, "perk"),
        ({}, "perk_required"),  # nobody in particular: no perks, no meter
        ({"member": "{id}", "article": "weather-week"}, "open"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}])
def test_an_api_key_asking_about_a_member_is_answered_like_the_view(
    app, member, params, reason, headers
):
    key = api_key(app, member)
    query = {"article": "the-river-report"} | {
        name: value.format(id=member) for name, value in params.items()
    }
    slow, fast, watch = both(app, query, headers | {"X-API-Key": f" {key}"})
    assert watch.passed == 0
    assert slow.get_json()["reason"] == reason
    assert_same(slow, fast)


def test_a_stale_session_is_answered_as_for_nobody_on_both_paths(
    app, member, signed_in, stopped_clock
):
    with app.app_context():  # a password change on another device ends this session
        db.session.get(User, member).session_token = new_session_token()
        db.session.commit()
    notification_arrived(app)
    for article in ("weather-week", "the-river-report"):
        slow, fast, watch = both(app, {"article": article}, signed_in)
        assert watch.passed == 0
        assert slow.get_json()["perks"] == []
        assert_same(slow, fast)


def test_an_anonymous_session_that_flask_would_not_rewrite_is_answered_here(
    app, rules, stopped_clock
):
    for data in ({"csrf_token": "abc", "_fresh": False}, {"join": {"plan": "supporter"}}):
        if "join" in data:  # from this very client: session protection finds nothing to mark
            with app.test_request_context(environ_base=app.test_client().environ_base):
                data["_id"] = _create_identifier()
        cookie = {"Cookie": f"session={session_cookie(app, data)}"}
        slow, fast, watch = both(app, {"article": "the-river-report"}, cookie)
        assert watch.passed == 0, data
        assert_same(slow, fast)


# --- questions the fast path leaves to Flask ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ({"article": "the-river-report", "perk": "members-only-articles"}, {}),
        ({"article": "the-river-report", "lang": "ru"}, {}),
        ({"article": ""}, {}),  # a 400 the view explains
        ({"article": "x", "tag": [f"t{i}" for i in range(21)]}, {}),
        ({"article": "x", "utm": "\x00"}, {}),  # the edge's 400
        ({"article": "the-river-report"}, {"User-Agent": "another browser"}),  # protection
        ({"article": "the-river-report"}, {"Authorization": "Bearer nonsense"}),
        ({"article": "the-river-report"}, {"Authorization": "Basic eDp5"}),
        ({"article": "the-river-report"}, {"X-API-Key": "mk_nonsense"}),
        ({"article": "the-river-report"}, {"X-API-Key": "not-even-ours"}),
    ],
)
def test_other_questions_go_to_flask(app, client, signed_in, query, headers):
    watch = Watch(app)
    client.get(URL, query_string=query, headers=headers)
    assert watch.passed == 1


def test_a_reader_without_the_perk_goes_to_flask_for_the_accounts_meter(app, world, rules, auth):
    user = world.user()
    auth.login()
    token = access_token(app, user, [])
    key = api_key(app, user)
    plain = app.test_client(use_cookies=False)
    for headers, extra in [
        ({"Authorization": f"Bearer {token}"}, {}),
        ({"X-API-Key": key}, {"member": str(user)}),
    ]:
        watch = Watch(app)
        body = plain.get(URL, query_string={"article": "the-river-report", **extra},
                         headers=headers).get_json()  # fmt: skip
        assert body["reason"] == "metered" and watch.passed == 1


@pytest.mark.parametrize(
    "data",
    [
        {"csrf_token": "abc"},  # Flask-Login marks a foreign session non-fresh: a rewrite
        {"csrf_token": "abc", "_remember": "clear"},
        {"_user_id": "x", "_permanent": True},
    ],
)
def test_a_session_flask_would_rewrite_goes_to_flask(app, rules, data):
    watch = Watch(app)
    cookie = {"Cookie": f"session={session_cookie(app, data)}"}
    app.test_client(use_cookies=False).get(URL, query_string={"article": "x"}, headers=cookie)
    assert watch.passed == 1


def test_a_remember_me_cookie_goes_to_flask(app, rules):
    watch = Watch(app)
    headers = {"Cookie": "remember_token=1|abc"}
    app.test_client(use_cookies=False).get(URL, query_string={"article": "x"}, headers=headers)
    assert watch.passed == 1


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


# --- failures cost speed, never the answer -----------------------------------------------------


@pytest.mark.config(ACCESS_LIVE_CACHE=False)  # every question reads (as on SQLite)
def test_a_database_error_passes_the_question_to_flask_and_the_next_one_reconnects(
    app, client, signed_in, monkeypatch
):
    from membership.database import HotQuery

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


def test_an_unexpected_error_in_the_fast_path_lets_flask_answer(
    app, client, signed_in, monkeypatch
):
    from membership.access import readers, services

    watch = Watch(app)

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(services, "requirement_in", broken)
    monkeypatch.setattr(readers, "reader_and_requirement", broken)
    response = client.get(URL, query_string={"article": "the-river-report"})
    assert response.status_code == 200 and response.get_json()["allowed"] is True
    assert watch.passed == 1
