"""A cancellation that listens (issue #14): the cancel page asks why, offers a pause (Stripe's
pause_collection) and the newsroom's retention offer (a coupon), and stores what the reader
chose; perks follow the pause through the webhooks, through the sandbox's clock."""

from __future__ import annotations

import copy
import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.billing.models import CancellationRequest
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.perks.models import PerkGrant
from membership.timeutil import from_unix
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import PERKS, ledger, perks_at, sdk

OFFER = pytest.mark.config(RETENTION_OFFER_PERCENT=40, RETENTION_OFFER_MONTHS=2)


@pytest.fixture
def member(app, reader, auth, stripe_world):
    """A reader who joined the monthly supporter plan (€5.00)."""

    def _join():
        stripe_world.pay(join(auth))
        stripe_world.deliver()
        return membership_of(app, reader)

    return _join


def requests(app):
    with app.app_context():
        return [
            (r.reason, r.comment, r.outcome, r.pause_months, r.coupon_id)
            for r in db.session.scalars(
                select(CancellationRequest).order_by(CancellationRequest.id)
            )
        ]


def choose(auth, membership_id, action, **data):
    """Submit the cancel page's form with one of its buttons."""
    return auth.post(
        f"/account/membership/{membership_id}/{action}",
        data,
        form_page=f"/account/membership/{membership_id}/cancel",
    )


def subscription(stripe_world, membership):
    return sdk(stripe_world).v1.subscriptions.retrieve(membership.stripe_subscription_id)


def grants_state(app):
    with app.app_context():
        return sorted(
            (g.perk_id, g.starts_at, g.ends_at, g.revoked_at, g.reason)
            for g in db.session.scalars(select(PerkGrant))
        )


# --- the page -------------------------------------------------------------------------------


@OFFER
def test_the_account_leads_to_a_page_that_asks_why_and_offers_a_pause_and_the_offer(
    app, reader, member, client
):
    m = member()
    account = client.get("/account").get_data(as_text=True)
    assert f'href="/account/membership/{m.id}/cancel"' in account
    page = client.get(f"/account/membership/{m.id}/cancel")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Why are you leaving?" in html and 'value="too_expensive"' in html
    assert "1 month, until" in html and "3 months, until" in html
    assert "Stay for 40% less" in html and "€3.00 each instead of €5.00" in html
    assert "Cancel my membership" in html
    assert requests(app) == []  # looking is not choosing


def test_cancelling_stores_the_reason_and_ends_with_the_paid_period(
    app, reader, member, auth, stripe_world, mailbox
):
    m = member()
    response = choose(auth, m.id, "cancel", reason="too_expensive", comment="  Prices went up. ")
    assert response.status_code == 303
    assert requests(app) == [("too_expensive", "Prices went up.", "cancelled", None, None)]
    assert membership_of(app, reader).cancel_at_period_end is True
    assert subscription(stripe_world, m)["cancel_at_period_end"] is True
    stripe_world.deliver()
    stripe_world.redeliver_as_new()
    assert len(requests(app)) == 1
    subjects = [msg["Subject"] for msg in mailbox.to("reader@example.org")]
    assert subjects.count("Your membership is cancelled") == 1


def test_the_reason_is_optional(app, reader, member, auth):
    m = member()
    assert choose(auth, m.id, "cancel").status_code == 303
    assert requests(app) == [(None, None, "cancelled", None, None)]


# --- the pause ------------------------------------------------------------------------------


@pytest.mark.parametrize("months", [1, 2, 3])
def test_a_pause_suspends_the_perks_and_they_come_back_when_it_resumes(
    app, reader, member, auth, client, stripe_world, months
):
    m = member()
    paid_until = m.current_period_end
    response = choose(auth, m.id, "pause", months=str(months), reason="break")
    assert response.status_code == 303
    paused = membership_of(app, reader)
    assert paused.pause_behavior == "void" and paused.paused_from == paid_until
    resumes = paused.resumes_at
    assert (
        paid_until + timedelta(days=28 * months)
        < resumes
        < paid_until + timedelta(days=31 * months)
    )
    assert requests(app) == [("break", None, "paused", months, None)]
    sub = subscription(stripe_world, m)
    assert sub["pause_collection"]["behavior"] == "void"
    assert from_unix(sub["pause_collection"]["resumes_at"]) == resumes
    # The paid period stays open; the pause closes the perks from its end.
    assert perks_at(app, reader, paid_until - timedelta(minutes=1)) == PERKS
    assert perks_at(app, reader, paid_until + timedelta(minutes=1)) == []
    account = client.get("/account").get_data(as_text=True)
    assert "pauses on" in account and "It resumes on" in account
    assert "Cancel the pause" in account  # it begins at the end of the paid period

    stripe_world.deliver()
    # Into the pause, just before it resumes: the renewals inside it were voided.
    stripe_world.sandbox.advance_clock(to=int((resumes - timedelta(days=1)).timestamp()))
    stripe_world.deliver()
    still = membership_of(app, reader)
    assert still.pause_behavior == "void" and still.paused_from == paid_until
    assert still.current_period_start > paid_until - timedelta(minutes=1)  # a voided renewal
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == []
    assert ledger(app) == [("membership", 500)]
    voided = stripe_world.sandbox.events("invoice.voided")
    assert len(voided) == months

    # resumes_at passes: Stripe clears the pause, then renews an hour later and charges.
    stripe_world.sandbox.advance_clock(to=int((resumes + timedelta(days=1)).timestamp()))
    stripe_world.deliver()
    back = membership_of(app, reader)
    assert back.pause_behavior is None and back.status == "active"
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == PERKS
    assert ledger(app) == [("membership", 500), ("membership", 500)]  # charged again


def test_duplicated_and_reordered_pause_events_change_nothing_twice(
    app, reader, member, auth, stripe_world
):
    m = member()
    choose(auth, m.id, "pause", months="1")
    stripe_world.advance(days=70)  # paused, a voided renewal, then resumed and renewed
    events = stripe_world.new_events()
    assert {"invoice.voided", "customer.subscription.updated", "invoice.paid"} <= {
        e["type"] for e in events
    }
    first = copy.deepcopy(events)
    random.Random(7).shuffle(first)  # first delivery in another order
    stripe_world.deliver(first)
    stripe_world.deliver(events)  # Stripe's retries: duplicates
    final = (grants_state(app), ledger(app), requests(app))
    assert ledger(app) == [("membership", 500), ("membership", 500)]
    assert [g[2] for g in grants_state(app)] == [None, None]  # open again, no end
    for seed in range(3):
        shuffled = copy.deepcopy(events)
        random.Random(seed).shuffle(shuffled)
        for event in shuffled:
            event["id"] += f"_again{seed}"
        stripe_world.deliver(shuffled)
        stripe_world.deliver(shuffled)  # and each one twice
        assert (grants_state(app), ledger(app), requests(app)) == final
    assert membership_of(app, reader).pause_behavior is None
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == PERKS


def test_ending_the_pause_early_opens_the_perks_at_once(
    app, reader, member, auth, stripe_world, app_clock
):
    m = member()
    choose(auth, m.id, "pause", months="3")
    stripe_world.advance(days=35)
    stripe_world.deliver()
    app_clock.move_to(from_unix(stripe_world.sandbox.now()))  # the app lives at Stripe's time
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == []
    account = auth.client.get("/account").get_data(as_text=True)
    assert "status-paused" in account and "Paused from" in account
    assert "End the pause now" in account
    response = auth.post(f"/account/membership/{m.id}/unpause", form_page="/account")
    assert response.status_code == 303
    assert "Welcome back!" in auth.client.get("/account").get_data(as_text=True)
    assert membership_of(app, reader).pause_behavior is None
    assert subscription(stripe_world, m)["pause_collection"] is None
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == PERKS
    stripe_world.deliver()
    assert membership_of(app, reader).pause_behavior is None


# --- the retention offer --------------------------------------------------------------------


@OFFER
def test_the_offer_discounts_the_next_invoices_and_keeps_the_membership(
    app, reader, member, auth, stripe_world
):
    m = member()
    # A day later (a coupon's months count from when it is applied: taken in the very second
    # of joining, its second month would end exactly at the second renewal).
    stripe_world.advance(days=1)
    stripe_world.deliver()
    response = choose(auth, m.id, "keep", reason="too_expensive")
    assert response.status_code == 303
    assert requests(app) == [("too_expensive", None, "kept_with_offer", None, "retention_40pct_2m")]
    kept = membership_of(app, reader)
    assert kept.status == "active" and not kept.cancel_at_period_end
    assert kept.recurring_amount == 300
    stripe_world.deliver()
    stripe_world.advance(days=31)  # the next renewal: 40 % off
    stripe_world.deliver()
    stripe_world.advance(days=31)
    stripe_world.deliver()
    stripe_world.advance(days=31)  # the coupon's two months are over: full price again
    stripe_world.deliver()
    assert ledger(app) == [("membership", 500), ("membership", 300), ("membership", 300),
                           ("membership", 500)]  # fmt: skip
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == PERKS
    # Taken once: the page no longer shows it, and asking again is refused.
    html = auth.client.get(f"/account/membership/{m.id}/cancel").get_data(as_text=True)
    assert "Stay for 40% less" not in html
    again = choose(auth, m.id, "keep")
    assert again.status_code == 409
    assert "This offer is not available" in again.get_data(as_text=True)
    assert len(requests(app)) == 1


def test_without_a_configured_offer_there_is_none(app, reader, member, auth, client):
    m = member()
    assert "less" not in client.get(f"/account/membership/{m.id}/cancel").get_data(as_text=True)
    response = choose(auth, m.id, "keep")
    assert response.status_code == 409
    assert requests(app) == []


# --- bad input ------------------------------------------------------------------------------


def test_an_unknown_reason_is_refused_with_the_page_and_nothing_changes(
    app, reader, member, auth, stripe_world
):
    m = member()
    response = choose(auth, m.id, "cancel", reason="bored-of-it")
    assert response.status_code == 422
    assert "Choose one of the reasons, or none." in response.get_data(as_text=True)
    assert requests(app) == []
    assert subscription(stripe_world, m)["cancel_at_period_end"] is False


@pytest.mark.parametrize("months", ["7", "0", "-1", "two", ""])
def test_a_pause_of_other_lengths_is_refused(app, reader, member, auth, stripe_world, months):
    m = member()
    response = choose(auth, m.id, "pause", months=months)
    assert response.status_code == 422
    assert "Choose 1, 2 or 3 months." in response.get_data(as_text=True)
    assert requests(app) == []
    assert subscription(stripe_world, m)["pause_collection"] is None


def test_a_comment_too_long_is_refused(app, reader, member, auth):
    m = member()
    response = choose(auth, m.id, "cancel", comment="x" * 1001)
    assert response.status_code == 422
    assert requests(app) == []


def test_someone_elses_membership_is_not_found(app, reader, member, mailbox, stripe_world):
    from tests.conftest import Actions
    from tests.factories import make_user

    m = member()
    with app.app_context():
        make_user(email="other@example.org")
    other = Actions(app.test_client(), mailbox)
    other.login(email="other@example.org")
    assert other.client.get(f"/account/membership/{m.id}/cancel").status_code == 404
    for action in ("cancel", "pause", "keep", "unpause"):
        response = other.post(f"/account/membership/{m.id}/{action}", {"months": "1"},
                              form_page="/account")  # fmt: skip
        assert response.status_code == 404, action
    assert requests(app) == []
    assert subscription(stripe_world, m)["cancel_at_period_end"] is False


def test_a_membership_already_cancelled_says_so(app, reader, member, auth, stripe_world):
    m = member()
    choose(auth, m.id, "cancel", reason="other")
    page = auth.client.get(f"/account/membership/{m.id}/cancel")
    assert page.status_code == 200 and "already ends on" in page.get_data(as_text=True)
    for action in ("cancel", "pause"):
        response = choose(auth, m.id, action, months="1")
        assert response.status_code == 409, action
        assert "already ends on" in response.get_data(as_text=True)
    assert len(requests(app)) == 1


def test_a_membership_that_ended_says_so(app, reader, member, auth, stripe_world):
    m = member()
    sdk(stripe_world).v1.subscriptions.cancel(m.stripe_subscription_id)
    stripe_world.deliver()
    page = auth.client.get(f"/account/membership/{m.id}/cancel")
    assert "This membership has ended already." in page.get_data(as_text=True)
    response = choose(auth, m.id, "cancel")
    assert response.status_code == 409
    assert "This membership has ended already." in response.get_data(as_text=True)
    assert requests(app) == []


def test_pausing_twice_is_refused(app, reader, member, auth):
    m = member()
    choose(auth, m.id, "pause", months="2")
    response = choose(auth, m.id, "pause", months="1")
    assert response.status_code == 409
    assert "paused already" in response.get_data(as_text=True)
    assert [r[2] for r in requests(app)] == ["paused"]


def test_a_yearly_membership_is_not_offered_a_pause(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth, interval="year"))
    stripe_world.deliver()
    m = membership_of(app, reader)
    assert "Take a break" not in auth.client.get(f"/account/membership/{m.id}/cancel").get_data(
        as_text=True
    )
    assert choose(auth, m.id, "pause", months="1").status_code == 409


def test_without_csrf_nothing_happens(app, reader, member, client):
    m = member()
    assert client.post(f"/account/membership/{m.id}/cancel", data={}).status_code == 400
    assert requests(app) == []


def test_a_deleted_account_loses_its_words_not_its_counted_reason(app, reader, member, auth):
    m = member()
    choose(auth, m.id, "cancel", reason="journalism", comment="My name is Nino and …")
    with app.app_context():
        from membership.accounts.models import User
        from membership.billing.cancellation import forget_comments

        forget_comments(db.session.get(User, reader))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert requests(app) == [("journalism", None, "cancelled", None, None)]


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_has_a_paused_member_whose_account_says_when_it_resumes(
    app, runner, stripe_world, mailbox
):
    from tests.conftest import Actions

    result = runner.invoke(args=["demo", "seed", "--members", "3"])
    assert result.exit_code == 0, result.output
    assert "1 paused member" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Paused member"))
    password = line.rsplit(" / ", 1)[1]
    with app.app_context():
        (request,) = db.session.scalars(
            select(CancellationRequest).where(
                CancellationRequest.user.has(email="paused@example.org")
            )
        ).all()
        assert (request.outcome, request.pause_months, request.reason) == ("paused", 2, "break")
        assert request.membership.pause_behavior == "void"
    sub = sdk(stripe_world).v1.subscriptions.retrieve(request.membership.stripe_subscription_id)
    assert sub["pause_collection"]["behavior"] == "void"
    client = app.test_client()
    Actions(client, mailbox).login(email="paused@example.org", password=password)
    page = client.get("/account?lang=en").get_data(as_text=True)
    assert 'id="pause-status"' in page


def test_a_reader_cannot_hammer_stripe_through_the_cancel_page(app, reader, member, auth):
    m = member()
    answers = [choose(auth, m.id, "cancel", reason="nope").status_code for _ in range(11)]
    assert answers[:10] == [422] * 10 and answers[10] == 429
    assert requests(app) == []


@OFFER
def test_a_trial_can_be_cancelled_but_not_paused_nor_discounted(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth, plan="insider"))
    stripe_world.deliver()
    m = membership_of(app, reader)
    assert m.status == "trialing"
    html = auth.client.get(f"/account/membership/{m.id}/cancel").get_data(as_text=True)
    assert "Your free trial runs until" in html and "is paid until" not in html
    assert "Take a break" not in html and "less" not in html
    assert choose(auth, m.id, "cancel", reason="not_reading").status_code == 303
    assert requests(app) == [("not_reading", None, "cancelled", None, None)]
