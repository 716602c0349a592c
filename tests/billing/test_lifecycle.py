"""A membership's life after joining: renewals, failed payments and grace, cancellation,
refunds and disputes, all through the sandbox's clock and webhooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from sqlalchemy import select

from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.perks.services import active_perk_slugs
from membership.timeutil import from_unix
from tests.billing.conftest import join, membership_of

PERKS = ["ad-free", "members-only-articles"]


def perks_at(app, user_id, when):
    with app.app_context():
        return active_perk_slugs(user_id, at=when)


def ledger(app):
    with app.app_context():
        return [
            (e.kind.value, e.amount)
            for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]


def sandbox_now(stripe_world):
    return from_unix(stripe_world.sandbox.now())


def first_payment_intent(stripe_world) -> str:
    """The payment intent that paid the first invoice, as Stripe reports it."""
    return stripe_world.sandbox.events("payment_intent.succeeded")[0]["data"]["object"]["id"]


def sdk(stripe_world) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}, max_network_retries=0
    )


@pytest.fixture
def member(app, reader, auth, stripe_world):
    """A reader who joined the monthly supporter plan with `card`."""

    def _join(card="4242424242424242"):
        stripe_world.pay(join(auth), card=card)
        stripe_world.deliver()
        return membership_of(app, reader)

    return _join


def test_renewal_adds_a_payment_and_moves_the_period(app, reader, member, stripe_world):
    first = member()
    stripe_world.advance(days=31)
    stripe_world.deliver()
    renewed = membership_of(app, reader)
    assert renewed.status == "active"
    assert renewed.current_period_end > first.current_period_end
    assert ledger(app) == [("membership", 500), ("membership", 500)]
    assert perks_at(app, reader, sandbox_now(stripe_world)) == PERKS


def test_failed_renewal_keeps_perks_through_grace_then_suspends(
    app, reader, member, stripe_world, mailbox
):
    member(card="4000000000000341")  # accepted now, fails later renewals
    stripe_world.advance(days=31)
    stripe_world.deliver()
    membership = membership_of(app, reader)
    assert membership.status == "past_due"
    assert membership.past_due_since is not None
    assert ledger(app) == [("membership", 500)]
    failed = [m for m in mailbox.to("reader@example.org") if "payment failed" in m["Subject"]]
    assert len(failed) == 1

    grace_end = membership.past_due_since + timedelta(days=7)
    assert perks_at(app, reader, grace_end - timedelta(hours=1)) == PERKS
    assert perks_at(app, reader, grace_end + timedelta(hours=1)) == []

    # Stripe retries and finally cancels: the perks stay ended.
    stripe_world.advance(days=20)
    stripe_world.deliver()
    assert (
        membership_of(app, reader).status == "canceled"
    )  # the sandbox cancels, as Stripe's default
    assert perks_at(app, reader, sandbox_now(stripe_world)) == []
    assert ledger(app) == [("membership", 500)]


def test_cancel_at_period_end_then_it_ends(app, reader, member, auth, client, stripe_world):
    membership = member()
    response = auth.post(
        f"/account/membership/{membership.id}/cancel", form_page="/account", follow_redirects=True
    )
    assert "will end with the paid period" in response.get_data(as_text=True)
    assert membership_of(app, reader).cancel_at_period_end is True
    page = client.get("/account").get_data(as_text=True)
    assert "Ends on" in page and "Resume my membership" in page
    end = membership_of(app, reader).current_period_end
    assert perks_at(app, reader, end - timedelta(minutes=1)) == PERKS

    stripe_world.deliver()  # the subscription.updated event changes nothing further
    stripe_world.advance(days=32)
    stripe_world.deliver()
    ended = membership_of(app, reader)
    assert ended.status == "canceled"
    assert perks_at(app, reader, end - timedelta(minutes=1)) == PERKS
    assert perks_at(app, reader, end + timedelta(minutes=1)) == []
    assert ledger(app) == [("membership", 500)]  # no renewal was charged


def test_resume_undoes_the_cancellation(app, reader, member, auth, stripe_world):
    membership = member()
    auth.post(f"/account/membership/{membership.id}/cancel", form_page="/account")
    auth.post(f"/account/membership/{membership.id}/resume", form_page="/account")
    assert membership_of(app, reader).cancel_at_period_end is False
    stripe_world.advance(days=31)
    stripe_world.deliver()
    assert membership_of(app, reader).status == "active"
    assert len(ledger(app)) == 2


def test_someone_elses_membership_cannot_be_cancelled(app, reader, member, mailbox, stripe_world):
    from tests.conftest import Actions
    from tests.factories import make_user

    membership = member()
    with app.app_context():
        make_user(email="other@example.org")
    other = Actions(app.test_client(), mailbox)
    other.login(email="other@example.org")
    response = other.post(f"/account/membership/{membership.id}/cancel", form_page="/account")
    assert response.status_code == 404
    assert membership_of(app, reader).cancel_at_period_end is False


def test_refund_nets_the_ledger_once(app, reader, member, stripe_world):
    member()
    payment_intent = first_payment_intent(stripe_world)
    sdk(stripe_world).v1.refunds.create(params={"payment_intent": payment_intent, "amount": 200})
    stripe_world.deliver()
    stripe_world.deliver(stripe_world.sandbox.events("charge.refunded"))  # duplicated delivery
    assert ledger(app) == [("membership", 500), ("refund", -200)]
    with app.app_context():
        refund = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "refund"))
        payment = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "membership"))
        assert (refund.user_id, refund.membership_id, refund.reverses_id) == (
            payment.user_id,
            payment.membership_id,
            payment.id,
        )


def test_refund_arriving_before_its_payment(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    joining = stripe_world.new_events()
    # Stripe's events for the payment are delayed; the refund's arrive first.
    paid = next(e for e in joining if e["type"] == "invoice.paid")
    invoice = stripe_world.sandbox.get(paid["data"]["object"]["id"])
    intents = [e for e in joining if e["type"] == "payment_intent.succeeded"]
    sdk(stripe_world).v1.refunds.create(
        params={"payment_intent": intents[0]["data"]["object"]["id"]}
    )
    stripe_world.delivered.update(e["id"] for e in joining)
    stripe_world.deliver()  # only the refund's events
    assert sorted(ledger(app)) == [("membership", 500), ("refund", -500)]
    stripe_world.deliver(joining)
    assert sorted(ledger(app)) == [("membership", 500), ("refund", -500)]
    assert invoice["status"] == "paid"


@pytest.mark.parametrize(("outcome", "rows"), [("won", [500]), ("lost", [500, -500])])
def test_disputes(app, reader, member, stripe_world, outcome, rows):
    member()
    payment_intent = first_payment_intent(stripe_world)
    charge = stripe_world.sandbox.get(payment_intent)["latest_charge"]
    dispute = stripe_world.sandbox.dispute_charge(charge)
    stripe_world.deliver()
    assert [amount for _, amount in ledger(app)] == [500]  # open: nothing moves for good
    stripe_world.sandbox.close_dispute(dispute["id"], outcome=outcome)
    stripe_world.deliver()
    assert [amount for _, amount in ledger(app)] == rows


def test_deleting_the_account_ends_payments_and_keeps_the_ledger(
    app, reader, member, auth, stripe_world
):
    from tests.conftest import PASSWORD

    membership = member()
    response = auth.post("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    customer = stripe_world.sandbox.get(membership.stripe_customer_id)
    assert customer == {"id": membership.stripe_customer_id, "object": "customer", "deleted": True}
    stripe_world.deliver()
    ended = membership_of(app, reader)
    assert ended.status == "canceled"
    assert ledger(app) == [("membership", 500)]  # the money record stays, nameless
    with app.app_context():
        from membership.accounts.models import User

        user = db.session.get(User, reader)
        assert user.deleted_at is not None and user.stripe_customer_id is None
    stripe_world.advance(days=40)
    stripe_world.deliver()
    assert ledger(app) == [("membership", 500)]  # never charged again


def test_cancel_resume_cancel_within_a_minute_reaches_stripe_each_time(
    app, reader, member, auth, stripe_world
):
    membership = member()
    for action, expected in (("cancel", True), ("resume", False), ("cancel", True)):
        auth.post(f"/account/membership/{membership.id}/{action}", form_page="/account")
        stripe_side = stripe_world.sandbox.get(membership.stripe_subscription_id)
        assert stripe_side["cancel_at_period_end"] is expected, action
        assert membership_of(app, reader).cancel_at_period_end is expected, action
