"""Where members come from: the landing request's utm_* tags, ref and referring site, kept in the
session (validated, first touch only) until signup and the first payment, and written once."""

from __future__ import annotations

from sqlalchemy import func, select

from membership.attribution import SESSION_KEY, Attribution, clean, referrer_host
from membership.extensions import db
from tests.billing.conftest import join, membership_of
from tests.factories import make_user

LANDING = "/plans?utm_source=newsletter&utm_medium=email&utm_campaign=spring-drive&ref=housing"


def touch_of(client) -> dict | None:
    with client.session_transaction() as session:
        return session.get(SESSION_KEY)


def rows(app) -> list[tuple]:
    with app.app_context():
        return [
            (a.user_id is not None, a.membership_id is not None, a.source, a.medium, a.campaign,
             a.ref, a.referrer, a.landing)
            for a in db.session.scalars(select(Attribution).order_by(Attribution.id))
        ]  # fmt: skip


def test_the_first_touch_is_kept_and_never_overwritten(client):
    client.get("/")  # a typed address: nothing to keep, nothing kept
    assert touch_of(client) is None
    client.get(LANDING, headers={"Referer": "https://www.news.example.org/story?id=7"})
    first = touch_of(client)
    kept = ("source", "medium", "campaign", "ref", "referrer", "landing")
    assert {k: first[k] for k in kept} == {
        "source": "newsletter", "medium": "email", "campaign": "spring-drive", "ref": "housing",
        "referrer": "news.example.org", "landing": "/plans",
    }  # fmt: skip
    client.get("/plans?utm_source=facebook", headers={"Referer": "https://facebook.com/"})
    assert touch_of(client) == first


def test_bad_values_are_dropped_and_the_referrer_is_only_an_outside_host(client, app):
    client.get(
        "/plans?utm_source=" + "x" * 101 + "&utm_medium=%3Cscript%3E&utm_campaign=ok%0Aline"
        "&ref=fine-one",
        headers={"Referer": "http://localhost/plans"},  # our own page: no referrer
    )
    assert {k: v for k, v in touch_of(client).items() if k != "at"} == {
        "ref": "fine-one", "landing": "/plans",
    }  # fmt: skip
    assert clean("a\x00b", 10) is None and clean("  spaced  ", 10) == "spaced"
    assert referrer_host("javascript:alert(1)", set()) is None
    assert referrer_host("https://user:pw@Example.ORG:8443/x", set()) == "example.org"
    assert referrer_host("https://a..b/", set()) is None
    assert referrer_host("https://site.example/", {"site.example"}) is None


def test_staff_pages_and_machines_are_no_landing(client):
    client.get("/healthz?utm_source=monitor")
    client.get("/admin/?utm_source=x")
    assert touch_of(client) is None


def test_signup_and_first_payment_record_the_touch_once(app, catalogue, client, auth,
                                                        stripe_world):  # fmt: skip
    client.get(LANDING)
    auth.register(email="new@example.org")
    with app.app_context():
        user_id = db.session.scalar(
            select(Attribution.user_id).where(Attribution.user_id.is_not(None))
        )
    assert rows(app) == [(True, False, "newsletter", "email", "spring-drive", "housing", None,
                          "/plans")]  # fmt: skip
    stripe_world.pay(join(auth))
    events = stripe_world.new_events()
    stripe_world.deliver()
    stripe_world.deliver(events)  # Stripe delivers again: nothing is written twice
    membership = membership_of(app, user_id)
    assert membership.status == "active"
    assert rows(app)[1] == (False, True, "newsletter", "email", "spring-drive", "housing", None,
                            "/plans")  # fmt: skip
    with app.app_context():
        assert db.session.scalar(select(func.count(Attribution.id))) == 2
        row = db.session.scalar(
            select(Attribution).where(Attribution.membership_id == membership.id)
        )
        assert row.touched_at is not None


def test_the_touch_survives_signing_in(app, catalogue, client, auth, stripe_world):
    with app.app_context():
        make_user(email="old@example.org")
    client.get("/fundraisers?utm_source=mastodon&utm_medium=social")
    client.get(LANDING.replace("newsletter", "mastodon"))
    auth.login(email="old@example.org")
    assert touch_of(client)["source"] == "mastodon"
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    assert [r[2] for r in rows(app)] == ["mastodon"]  # the membership's; no signup here


def test_a_payment_from_another_browser_keeps_the_signup_touch(app, catalogue, client, auth,
                                                               stripe_world):  # fmt: skip
    client.get("/plans?utm_source=podcast&utm_campaign=ep-12")
    auth.register(email="new@example.org")
    with client.session_transaction() as session:  # a new browser weeks later: no touch
        session.pop(SESSION_KEY)
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    assert [(r[0], r[2], r[4]) for r in rows(app)] == [(True, "podcast", "ep-12"),
                                                      (False, "podcast", "ep-12")]  # fmt: skip


def test_a_direct_join_records_nothing(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    assert rows(app) == []
