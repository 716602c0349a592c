"""Pressing Join: members of any live kind go to the portal, a trial is for first-time members
only, and a double click (or two app instances answering it) opens one Checkout, not two."""

from __future__ import annotations

import contextlib
import itertools
import threading

import pytest

from membership.billing import services, stripe_gateway
from membership.extensions import db
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import sdk
from tests.conftest import Actions, csrf_token


def checkout_sessions(stripe_world) -> list[dict]:
    """Every Checkout Session Stripe holds, newest first."""
    return sdk(stripe_world).v1.checkout.sessions.list(params={"limit": 100}).to_dict()["data"]


def press_join(auth, plan="supporter", interval="month"):
    """POST the plan's Join button; the answer as the browser gets it."""
    return auth.post(f"/plans/{plan}/checkout", {"interval": interval}, form_page="/plans")


@pytest.mark.parametrize("status", ["trialing", "past_due"])
def test_a_trialing_or_past_due_member_pressing_join_is_sent_to_the_portal(
    app, reader, auth, stripe_world, status
):
    if status == "trialing":
        stripe_world.pay(join(auth, "insider", "month"))
    else:
        stripe_world.pay(join(auth), card="4000000000000341")  # renewals will fail
        stripe_world.advance(days=31)
    stripe_world.deliver()
    assert membership_of(app, reader).status == status
    sessions_before = len(checkout_sessions(stripe_world))

    response = press_join(auth, "supporter", "year")

    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_world.sandbox.url + "/p/session/")
    assert len(checkout_sessions(stripe_world)) == sessions_before


@pytest.mark.parametrize("first_plan", ["insider", "supporter"])
def test_a_reader_who_was_a_member_before_gets_no_second_trial(
    app, reader, auth, stripe_world, first_plan
):
    stripe_world.pay(join(auth, first_plan, "month"))
    stripe_world.deliver()
    sdk(stripe_world).v1.subscriptions.cancel(membership_of(app, reader).stripe_subscription_id)
    stripe_world.deliver()
    assert membership_of(app, reader).status == "canceled"

    stripe_world.pay(join(auth, "insider", "month"))
    stripe_world.deliver()

    again = membership_of(app, reader)
    assert (again.status, again.trial_end) == ("active", None)  # charged at once: no trial
    paid = stripe_world.sandbox.get(again.stripe_subscription_id)["latest_invoice"]
    assert stripe_world.sandbox.get(paid)["amount_paid"] == 1200


def test_a_double_click_on_join_opens_one_checkout(app, reader, auth, stripe_world):
    first, second = press_join(auth), press_join(auth)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(checkout_sessions(stripe_world)) == 1


def test_a_double_click_across_a_minute_boundary_opens_one_checkout(
    app, reader, auth, stripe_world, monkeypatch
):
    minutes = iter([29_000_000, 29_000_001])
    monkeypatch.setattr(stripe_gateway, "minute_bucket", lambda: next(minutes))
    first, second = press_join(auth), press_join(auth)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(checkout_sessions(stripe_world)) == 1


def test_two_instances_answering_a_double_click_at_once_open_one_checkout(
    app, reader, auth, stripe_world, monkeypatch
):
    # Both requests look before either's session exists (two app instances, a few ms apart):
    # only the idempotency key, the same for both clicks, keeps Stripe at one session.
    monkeypatch.setattr(stripe_gateway, "open_checkout_sessions", lambda customer: [])
    first, second = press_join(auth), press_join(auth)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(checkout_sessions(stripe_world)) == 1


def test_another_plan_or_interval_is_a_new_checkout(app, reader, auth, stripe_world):
    monthly, yearly = press_join(auth), press_join(auth, interval="year")
    assert monthly.headers["Location"] != yearly.headers["Location"]
    assert len(checkout_sessions(stripe_world)) == 2


@pytest.mark.postgres_only
def test_two_clicks_answered_at_the_same_moment_by_two_instances_open_one_checkout(
    app, reader, auth, mailbox, stripe_world, monkeypatch, is_postgres
):
    if not is_postgres:
        pytest.skip("two transactions waiting on a row lock need PostgreSQL")
    with app.app_context():
        services.sync_plans()  # as staff's `flask stripe sync-plans` did: the prices exist
        db.session.commit()
    yearly = press_join(auth, interval="year")  # an earlier look: the reader is a customer now
    # Every Stripe create gets a key of its own (as across a minute boundary), and each request
    # waits for the other before it looks for open sessions: only the reader's row lock can
    # make the second click find the first one's session.
    minutes = itertools.count(29_000_000)
    monkeypatch.setattr(stripe_gateway, "minute_bucket", lambda: next(minutes))
    arrived = threading.Barrier(2, timeout=1.5)
    look = stripe_gateway.open_checkout_sessions

    def side_by_side(customer):
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()  # broken when the other request waits on the lock: it cannot arrive
        return look(customer)

    monkeypatch.setattr(stripe_gateway, "open_checkout_sessions", side_by_side)
    browsers = [Actions(app.test_client(), mailbox) for _ in range(2)]
    for browser in browsers:
        assert browser.login().status_code == 303
    tokens = [csrf_token(browser.client, "/plans") for browser in browsers]
    answers: list = [None, None]

    def click(n):
        answers[n] = browsers[n].client.post(
            "/plans/supporter/checkout", data={"interval": "month", "csrf_token": tokens[n]}
        )

    threads = [threading.Thread(target=click, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"].startswith(stripe_world.sandbox.url + "/c/pay/")
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert answers[0].headers["Location"] != yearly.headers["Location"]
    assert len(checkout_sessions(stripe_world)) == 2
