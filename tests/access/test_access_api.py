"""GET /api/v1/access: rules, grants, revocation, grace and bad input, as a CMS sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from stripe_sandbox.engine import CARD_FAILS_LATER
from tests.billing.conftest import join, membership_of


def test_an_article_without_a_rule_is_open_to_anyone(ask):
    status, body = ask("weather-week")
    assert status == 200
    assert body == {"allowed": True, "reason": "open", "perks": [], "required_perk": None}


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_premium_article_is_closed_to_an_anonymous_reader(ask, world):
    world.rule("slug", "the-river-report")
    status, body = ask("the-river-report")
    assert status == 200
    assert body["allowed"] is False
    assert body["reason"] == "perk_required"
    assert body["required_perk"] == "members-only-articles"


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_granted_perk_opens_the_article_and_revoking_closes_it(ask, auth, world):
    world.rule("slug", "the-river-report")
    user = world.user()
    grant = world.grant(user)
    world.grant(user, "ad-free")
    auth.login()

    status, body = ask("the-river-report")
    assert status == 200
    assert body["allowed"] is True
    assert body["reason"] == "perk"
    assert body["perks"] == ["ad-free", "members-only-articles"]

    world.revoke(grant)
    status, body = ask("the-river-report")
    assert body["allowed"] is False
    assert body["reason"] == "perk_required"
    assert body["perks"] == ["ad-free"]


@pytest.fixture
def past_due_member(app, auth, world, stripe_world):
    """A reader whose monthly supporter membership failed to renew: the first payment went
    through Checkout and the webhooks, the renewal a month later was declined (past due).
    Returns the end of the grace period."""
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
    user = world.user()
    auth.login()
    stripe_world.pay(join(auth), card=CARD_FAILS_LATER)
    stripe_world.deliver()
    stripe_world.advance(days=31)
    stripe_world.deliver()
    membership = membership_of(app, user)
    assert membership.status == "past_due"
    return membership.past_due_since + timedelta(days=7)  # GRACE_DAYS


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_past_due_member_reads_through_the_grace_period_and_not_after(
    ask, client, world, past_due_member, app_clock
):
    world.rule("id", "4711")
    app_clock.move_to(past_due_member - timedelta(hours=1))
    status, body = ask("4711")
    assert status == 200
    assert (body["allowed"], body["reason"]) == (True, "perk")
    assert body["perks"] == ["ad-free", "members-only-articles"]

    app_clock.move_to(past_due_member + timedelta(hours=1))
    status, body = ask("4711")
    assert status == 200
    assert (body["allowed"], body["reason"], body["perks"]) == (False, "perk_required", [])
    assert body["required_perk"] == "members-only-articles"
    assert "token" in client.get("/api/v1/token").get_json()  # still signed in: only grace ended


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_grant_that_has_ended_closes_the_article(ask, auth, world):
    world.rule("id", "4711")
    user = world.user()
    world.grant(user, starts=timedelta(days=-40), ends=timedelta(minutes=-1))
    auth.login()
    _, body = ask("4711")
    assert body["allowed"] is False
    assert body["perks"] == []


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_grant_that_starts_later_does_not_open_anything_yet(ask, auth, world):
    world.rule("slug", "later")
    world.grant(world.user(), starts=timedelta(days=1))
    auth.login()
    assert ask("later")[1]["allowed"] is False


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_sections_tags_and_the_most_specific_rule(ask, world):
    world.rule("path", "/investigations")
    world.rule("slug", "/investigations/free-sample", None)  # explicitly open
    world.rule("tag", "insider", "insider-newsletter")

    _, body = ask("/investigations/river/part-1")
    assert (body["allowed"], body["required_perk"]) == (False, "members-only-articles")
    _, body = ask("https://www.example.org/investigations/river?utm=x")
    assert body["required_perk"] == "members-only-articles"
    _, body = ask("/investigations-elsewhere/x")  # a prefix by segment, not by letters
    assert body["reason"] == "open"
    _, body = ask("/investigations/free-sample")
    assert body["reason"] == "open"
    _, body = ask("/news/briefing", tag=["insider", "politics"])
    assert body["required_perk"] == "insider-newsletter"
    _, body = ask("/news/briefing")
    assert body["reason"] == "open"


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_the_cms_may_name_the_perk(ask, auth, world):
    user = world.user()
    world.grant(user, "ad-free")
    world.perk("members-only-articles")
    auth.login()
    _, body = ask("any-article", perk="ad-free")
    assert (body["allowed"], body["reason"], body["required_perk"]) == (True, "perk", "ad-free")
    _, body = ask("any-article", perk="members-only-articles")
    assert body["allowed"] is False


def test_an_unknown_perk_is_a_404(ask):
    status, body = ask("x", perk="no-such-perk")
    assert status == 404
    assert "no-such-perk" in body["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{}, {"article": ""}, {"article": "   "}, {"article": "x" * 256}, {"article": "a\x00b"},
     {"article": "ok", "perk": ""}, {"article": "ok", "tag": ["t"] * 21}],
)  # fmt: skip
def test_bad_input_is_a_clear_400(client, params):
    response = client.get("/api/v1/access", query_string=params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400
    assert error["message"]


def test_answers_are_never_cached_by_shared_caches(client):
    response = client.get("/api/v1/access?article=x")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Cookie" in response.headers["Vary"]


def test_the_openapi_document_describes_the_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"/access", "/token", "/keys"} <= set(document["paths"])
