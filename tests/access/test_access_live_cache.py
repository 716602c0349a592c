"""PostgreSQL: the access fast path remembers facts between questions and forgets them the moment
the database says they changed (LISTEN/NOTIFY), or when a grant's time comes."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import update

from membership.access import fastfacts
from membership.access.models import AccessRule, RuleKind
from membership.accounts.models import User, new_session_token
from membership.database import HotQuery
from membership.extensions import db
from membership.perks.models import Perk
from tests.access.fastpath_helpers import (
    URL,
    Watch,
    access_token,
    api_key,
    notification_arrived,
)

# LISTEN/NOTIFY needs PostgreSQL.
pytestmark = [pytest.mark.postgres_only, pytest.mark.config(METER_FREE_ARTICLES=0)]


@pytest.fixture
def reads(monkeypatch):
    """Counts the fast path's database reads."""
    counter = {"n": 0}
    original = HotQuery.rows

    def counted(self, connection, values):
        counter["n"] += 1
        return original(self, connection, values)

    monkeypatch.setattr(HotQuery, "rows", counted)
    return counter


@pytest.fixture
def member(world, auth, client):
    """A signed-in reader with members-only articles, asked about once (the cache is warm)."""
    world.rule("slug", "the-river-report")
    user = world.user()
    grant = world.grant(user)
    auth.login()
    ask(client)  # renews the token cookie through Flask
    return user, grant


def ask(client, article="the-river-report"):
    return client.get(URL, query_string={"article": article}).get_json()


def eventually(check, seconds: float = 15.0):
    """Another process's notification crosses from its PostgreSQL session to ours: wait for
    it, bounded (generously: on a loaded machine it may take a while; a pass returns at once)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.005)


def test_a_repeated_question_is_answered_without_the_database(app, client, member, reads):
    watch = Watch(app)
    assert ask(client)["allowed"] is True
    first = reads["n"]
    for _ in range(5):
        assert ask(client)["allowed"] is True
    assert reads["n"] == first  # remembered
    assert watch.passed == 0


def test_a_revoked_grant_closes_the_article_at_once(app, client, member, world, reads):
    ask(client)
    world.revoke(member[1])  # committed by another connection, as staff or a webhook would
    answer = ask(client)
    assert (answer["allowed"], answer["reason"]) == (False, "perk_required")


def test_this_process_sees_its_own_revocation_before_the_notification_is_read(
    app, client, member, world, monkeypatch
):
    """On a loaded machine the notification reaches the socket after the next question has
    looked: a commit of this process must still be refused by its next answer."""
    ask(client)
    monkeypatch.setattr(fastfacts._ThreadState, "drain", lambda self: None)  # arrives late
    world.revoke(member[1])
    answer = ask(client)
    assert (answer["allowed"], answer["reason"]) == (False, "perk_required")


def test_only_a_committed_access_change_costs_the_next_answer_a_round_trip(
    app, client, member, world, monkeypatch
):
    syncs = []
    original = fastfacts._ThreadState.sync
    monkeypatch.setattr(
        fastfacts._ThreadState, "sync", lambda self: (syncs.append(1), original(self))
    )
    ask(client)
    with app.app_context():
        db.session.add(Perk(slug="podcast-feed", name="Podcast feed"))
        db.session.flush()
        db.session.rollback()  # written, then undone: nothing to fetch
    assert ask(client)["allowed"] is True
    assert syncs == []
    world.revoke(member[1])
    assert ask(client)["allowed"] is False
    assert ask(client)["allowed"] is False
    assert syncs == [1]


def test_another_process_revoking_is_seen_when_its_notification_arrives(
    app, client, member, database_url
):
    ask(client)
    url = database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as other:  # a worker elsewhere
        other.execute("UPDATE perk_grants SET revoked_at = now() WHERE id = %s", [member[1]])
    assert eventually(lambda: ask(client)["allowed"] is False)


def test_a_new_rule_applies_at_once(app, client, member, world):
    assert ask(client, "weather-week")["reason"] == "open"
    world.rule("slug", "weather-week", "ad-free")
    assert ask(client, "weather-week")["required_perk"] == "ad-free"


def test_a_renamed_perk_is_seen_at_once(app, client, member):
    ask(client)
    with app.app_context():
        db.session.execute(update(Perk).values(slug="members-articles"))
        db.session.commit()
    assert ask(client)["perks"] == ["members-articles"]


def test_a_session_ended_elsewhere_is_forgotten(app, client, member):
    ask(client)
    with app.app_context():
        user = db.session.get(User, member[0])
        user.session_token = new_session_token()  # a password change on another device
        db.session.commit()
    assert ask(client)["perks"] == []


def test_a_grant_that_ends_is_forgotten_when_it_ends(app, client, world, auth, reads, app_clock):
    world.rule("slug", "the-river-report")
    user = world.user()
    world.grant(user, ends=timedelta(hours=1))
    auth.login()
    ask(client)
    assert ask(client)["allowed"] is True
    before = reads["n"]
    assert ask(client)["allowed"] is True
    assert reads["n"] == before  # remembered, until the grant's end
    app_clock.move_to(app_clock.now() + timedelta(hours=1, seconds=1))  # no notification
    assert ask(client)["allowed"] is False


def test_without_the_live_cache_every_question_reads(app, client, member, reads):
    app.config["ACCESS_LIVE_CACHE"] = False
    fast = Watch(app).fast
    fast._ready = None  # set up again with the new setting
    ask(client)
    first = reads["n"]
    ask(client)
    assert reads["n"] == first + 1


def test_rules_of_other_kinds_are_seen_too(app, client, member):
    ask(client, "/investigations/dam")
    with app.app_context():
        db.session.add(AccessRule(kind=RuleKind.path, value="/investigations", perk_id=None))
        db.session.commit()
    assert ask(client, "/investigations/dam")["reason"] == "open"


def test_a_lost_connection_loses_its_cache_and_the_next_question_reconnects(
    app, client, member, world
):
    extra = world.grant(member[0], "ad-free")
    ask(client)  # Flask: the token cookie learns the new perk
    watch = Watch(app)
    assert ask(client)["perks"] == ["ad-free", "members-only-articles"]
    state = watch.fast._ready["facts"].local.state
    state.connection.driver_connection.close()  # the database connection went away
    world.revoke(extra)  # and something changed meanwhile: no notification reaches it
    assert ask(client)["perks"] == ["members-only-articles"]  # Flask, from the database
    assert watch.passed == 1
    assert ask(client)["perks"] == ["members-only-articles"]  # the fast path, reconnected
    assert watch.passed == 1
    assert watch.fast._ready["facts"].local.state is not state


def _token(app, user):
    return {"Authorization": f"Bearer {access_token(app, user, [])}"}, {}


def _key_member(app, user):
    return {"X-API-Key": api_key(app, user)}, {"member": str(user)}


def _key_email(app, user):
    return {"X-API-Key": api_key(app, user)}, {"email": "Reader@example.org"}


def _key_alone(app, user):
    return {"X-API-Key": api_key(app, user)}, {}


@pytest.mark.parametrize("credentials", [_token, _key_member, _key_email, _key_alone])
def test_tokens_and_keys_are_answered_without_the_database_until_something_changes(
    app, member, world, reads, credentials
):
    headers, params = credentials(app, member[0])
    if "X-API-Key" in headers:
        notification_arrived(app)  # of the new key: it would make the first answer's read moot
    server = app.test_client(use_cookies=False)
    query = {"article": "the-river-report", **params}

    def answer():
        return server.get(URL, query_string=query, headers=headers).get_json()

    watch = Watch(app)
    first = answer()
    before = reads["n"]
    for _ in range(3):
        assert answer() == first
    assert reads["n"] == before and watch.passed == 0  # remembered
    if credentials is _key_alone:
        assert first["reason"] == "perk_required"  # nobody in particular
        return
    assert first["reason"] == "perk"
    world.revoke(member[1])
    assert answer()["perks"] == []  # the reader's perk is gone at once


@pytest.mark.parametrize(
    ("credentials", "premium"),
    [
        (_token, "perk"),
        (_key_member, "perk"),
        (_key_alone, "perk_required"),
        (None, "perk_required"),
    ],
)
def test_with_more_rules_than_it_keeps_each_question_reads_its_own(
    app, member, world, monkeypatch, credentials, premium
):
    from membership.access import live

    monkeypatch.setattr(live, "MAX_RULES", 1)
    world.rule("path", "/investigations")  # two rules now: more than it keeps
    headers, params = credentials(app, member[0]) if credentials else ({}, {})
    server = app.test_client(use_cookies=False)
    watch = Watch(app)
    for article, reason in [
        ("the-river-report", premium),
        ("/investigations/x", premium),
        ("weather-week", "open"),
    ]:
        body = server.get(URL, query_string={"article": article, **params}, headers=headers)
        assert body.get_json()["reason"] == reason, article
    assert watch.passed == 0
