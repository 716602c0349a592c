"""Remembering costly checks never makes an answer stale: a revoked perk is refused on the next
question whoever asks, a revoked API key at once, an expired token as soon as PyJWT says so, and
the free meter counts exactly when readers ask at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from membership.access.models import ApiKey, MeterRead
from membership.accounts.models import User
from membership.extensions import db
from membership.timeutil import utcnow
from tests.access.fastpath_helpers import (
    URL,
    Watch,
    access_token,
    api_key,
    notification_arrived,
    revoke_api_key,
)

pytestmark = pytest.mark.config(METER_FREE_ARTICLES=0)


@pytest.fixture
def member(world):
    """A reader with members-only articles and the ad-free perk; the river report needs the
    first."""
    world.rule("slug", "the-river-report")
    user = world.user()
    world.grant(user)
    return user


def _credentials(app, client, auth, kind: str, user: int) -> tuple[dict, dict]:
    """(headers, extra query) that make `user` the reader asking, for each kind."""
    if kind == "session":
        auth.login()
        client.get(URL, query_string={"article": "warm-up"})  # the token cookie is current
        return {}, {}
    if kind == "token":
        token = access_token(app, user, ["ad-free", "members-only-articles"])
        return {"Authorization": f"Bearer {token}"}, {}
    return {"X-API-Key": api_key(app, user)}, {"member": str(user)}


@pytest.mark.parametrize("kind", ["session", "token", "key"])
def test_a_revoked_perk_is_refused_on_the_next_question(app, client, auth, world, member, kind):
    extra = world.grant(member, "ad-free")
    headers, params = _credentials(app, client, auth, kind, member)
    ask = {"article": "the-river-report", **params}
    client.get(URL, query_string=ask, headers=headers)  # Flask renews the session's cookie
    watch = Watch(app)
    body = client.get(URL, query_string=ask, headers=headers).get_json()
    assert body["perks"] == ["ad-free", "members-only-articles"] and watch.passed == 0
    world.revoke(extra)
    notification_arrived(app)
    body = client.get(URL, query_string=ask, headers=headers).get_json()
    assert body["perks"] == ["members-only-articles"]  # read live, whatever a token lists
    grant = _grant_of(app, member, "members-only-articles")
    world.revoke(grant)
    notification_arrived(app)
    body = client.get(URL, query_string=ask, headers=headers).get_json()
    assert (body["allowed"], body["reason"], body["perks"]) == (False, "perk_required", [])


def _grant_of(app, user: int, slug: str) -> int:
    """The id of the reader's grant of a perk."""
    from membership.perks.models import Perk, PerkGrant

    with app.app_context():
        return db.session.scalar(
            db.select(PerkGrant.id).join(Perk).where(PerkGrant.user_id == user, Perk.slug == slug)
        )


def test_a_revoked_api_key_is_refused_at_once(app, member):
    key = api_key(app, member)
    server = app.test_client(use_cookies=False)
    headers = {"X-API-Key": key}
    query = {"article": "the-river-report", "member": str(member)}
    watch = Watch(app)
    assert server.get(URL, query_string=query, headers=headers).status_code == 200
    assert server.get(URL, query_string=query, headers=headers).status_code == 200
    assert watch.passed == 0  # answered (and on PostgreSQL remembered) by the fast path
    revoke_api_key(app, key)
    notification_arrived(app)
    response = server.get(URL, query_string=query, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "That API key is unknown or revoked."


def test_a_key_due_for_its_last_use_mark_is_marked_once_by_flask(app, member):
    key = api_key(app, member, used=None)  # never used
    server = app.test_client(use_cookies=False)
    query = {"article": "the-river-report", "email": "reader@example.org"}
    watch = Watch(app)
    assert server.get(URL, query_string=query, headers={"X-API-Key": key}).status_code == 200
    assert watch.passed == 1  # Flask wrote the mark
    with app.app_context():
        marked = db.session.scalar(db.select(ApiKey.last_used_at))
    assert marked is not None and utcnow() - marked < timedelta(minutes=1)
    notification_arrived(app)
    assert server.get(URL, query_string=query, headers={"X-API-Key": key}).status_code == 200
    assert watch.passed == 1  # nothing more to write: the fast path answered


def test_an_api_key_asking_about_a_changed_address_finds_the_new_one(app, member, world):
    key = api_key(app, member)
    server = app.test_client(use_cookies=False)
    old = {"article": "the-river-report", "email": "reader@example.org"}
    assert server.get(URL, query_string=old, headers={"X-API-Key": key}).status_code == 200
    with app.app_context():
        db.session.get(User, member).email = "nino@example.org"
        db.session.commit()
    notification_arrived(app)
    assert server.get(URL, query_string=old, headers={"X-API-Key": key}).status_code == 404
    new = dict(old, email="nino@example.org")
    assert server.get(URL, query_string=new, headers={"X-API-Key": key}).get_json()["allowed"]


def test_a_token_of_a_deleted_account_is_refused(app, member):
    token = access_token(app, member, ["members-only-articles"])
    server = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    assert server.get(URL, query_string={"article": "x"}, headers=headers).status_code == 200
    with app.app_context():
        db.session.get(User, member).deleted_at = utcnow()
        db.session.commit()
    notification_arrived(app)
    response = server.get(URL, query_string={"article": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_remembered_token_is_refused_once_it_expires(app, member):
    # Issued so that PyJWT's last accepted moment (exp + 10 s leeway) is a second from now.
    issued = utcnow() - timedelta(seconds=app.config["ACCESS_TOKEN_TTL"] + 9)
    token = access_token(app, member, ["members-only-articles"], now=issued)
    server = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    watch = Watch(app)
    if server.get(URL, query_string={"article": "x"}, headers=headers).status_code == 200:
        assert watch.passed == 0  # verified and remembered by the fast path
    last = int(issued.timestamp()) + app.config["ACCESS_TOKEN_TTL"] + 10
    while time.time() < last:  # wait for the expiry itself; nothing here is timed
        time.sleep(0.05)
    response = server.get(URL, query_string={"article": "x"}, headers=headers)
    assert response.status_code == 401
    assert watch.passed == 1  # the fast path refused to use what it remembered


def test_a_token_changed_by_one_character_is_refused_after_the_real_one(app, member):
    token = access_token(app, member, ["members-only-articles"])
    server = app.test_client(use_cookies=False)
    good = server.get(
        URL, query_string={"article": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert good.status_code == 200
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{head}.{payload}.{flipped}", token + "x"):
        response = server.get(
            URL, query_string={"article": "x"}, headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401


@pytest.mark.postgres_only  # SQLite serialises writers; concurrency is exercised on PostgreSQL
@pytest.mark.config(METER_FREE_ARTICLES=3)
def test_the_accounts_meter_counts_exactly_when_questions_arrive_together(app, world, member):
    world.rule("path", "/investigations")
    reader = world.user("lapsed@example.org")  # no perk: every article is metered
    key = api_key(app, member)
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def ask(n: int) -> None:
        server = app.test_client(use_cookies=False)
        barrier.wait()
        body = server.get(
            URL,
            query_string={"article": f"/investigations/{n}", "member": str(reader)},
            headers={"X-API-Key": key},
        ).get_json()
        answers.append(body["reason"])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["meter_exhausted"] * 5 + ["metered"] * 3
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MeterRead.id))) == 3
