"""`flask stripe reconcile` after lost webhooks: every kind of money the app sells comes back."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership, StripeEvent
from membership.billing.services import TRACKED
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Donation, DonationStatus, Frequency
from membership.gifts.models import GiftMembership
from membership.ledger.models import LedgerEntry, LedgerFee
from membership.mail import MailJob
from membership.perks.models import GrantSource, PerkGrant
from tests.billing.conftest import join
from tests.conftest import Actions
from tests.fundraisers.conftest import SLUG, give, make_campaign, progress

pytestmark = pytest.mark.config(FUNDRAISER_PROGRESS_FRESHNESS=0, FUNDRAISER_PAGE_FRESHNESS=0)


def everything_sold(app, auth, mailbox, stripe_world) -> dict[str, str]:
    """A membership, a one-time and a monthly gift, a gift membership and an anonymous gift;
    renewals, a partial refund, a lost dispute and a stopped monthly gift; all delivered.
    Returns the Stripe ids the reconciliation must name."""
    with app.app_context():
        make_campaign()
    totals.MEMO.clear()
    stripe_world.pay(join(auth))
    once = give(auth, amount="25").headers["Location"]
    stripe_world.pay(once)
    monthly = give(auth, amount="10", frequency="monthly", outlet="mountain-post")
    stripe_world.pay(monthly.headers["Location"])
    bought = auth.post(
        "/gift", {"plan": "supporter", "months": "3", "recipient_email": "friend@example.org"}
    )
    assert bought.status_code == 303, bought.get_data(as_text=True)
    stripe_world.pay(bought.headers["Location"])
    stranger = Actions(app.test_client(), mailbox)
    stripe_world.pay(give(stranger, amount="60").headers["Location"], email="donor@example.org")
    stripe_world.deliver()
    stripe_world.advance(days=31)  # the membership and the monthly gift renew
    stripe_world.deliver()

    sandbox = stripe_world.sandbox
    with app.app_context():
        once_intent = db.session.scalar(
            select(LedgerEntry.payment_intent_id).where(LedgerEntry.amount == 2500)
        )
        gift = db.session.scalar(select(GiftMembership))
        monthly_sub = db.session.scalar(
            select(Donation.stripe_subscription_id).where(Donation.frequency == Frequency.monthly)
        )
        refund_id = gateway.refund_payment_intent(once_intent, 500, "test-refund")
        gateway.client().v1.subscriptions.cancel(monthly_sub)  # the donor stopped it
        gift_charge = sandbox.get(gift.payment_intent_id)["latest_charge"]
    dispute = sandbox.dispute_charge(gift_charge)
    sandbox.close_dispute(dispute["id"], outcome="lost")
    stripe_world.deliver()
    return {"refund": refund_id, "dispute": dispute["id"], "monthly": monthly_sub}


def state(app) -> dict:
    """What the webhooks wrote, by Stripe's ids (our row ids change when rows are rebuilt)."""
    with app.app_context():
        subscription_of = dict(
            db.session.execute(select(Membership.id, Membership.stripe_subscription_id)).all()
        )
        entries = db.session.scalars(select(LedgerEntry)).all()
        object_of = {e.id: e.stripe_object_id for e in entries}
        ledger = sorted(
            (e.stripe_object_id, e.kind.value, e.amount, e.currency, e.user_id,
             subscription_of.get(e.membership_id), e.campaign_id, e.outlet_id, e.donation_id,
             object_of.get(e.reverses_id), e.payment_intent_id, e.occurred_at, e.description,
             e.receipt_url)
            for e in entries
        )  # fmt: skip
        memberships = sorted(
            (m.stripe_subscription_id, m.user_id, m.started_at, *(getattr(m, n) for n in TRACKED))
            for m in db.session.scalars(select(Membership))
        )
        donations = sorted(
            (d.id, d.status.value, d.email, d.user_id, d.stripe_subscription_id, d.paid_at,
             d.ended_at)
            for d in db.session.scalars(select(Donation))
        )  # fmt: skip
        gifts = sorted(
            (g.id, g.status, g.payment_intent_id, g.paid_at)
            for g in db.session.scalars(select(GiftMembership))
        )
        grants = sorted(
            (g.user_id, g.perk_id, g.source.value,
             subscription_of[int(g.source_ref)] if g.source == GrantSource.membership
             else g.source_ref, g.starts_at, g.ends_at, g.revoked_at)
            for g in db.session.scalars(select(PerkGrant))
        )  # fmt: skip
        fees = sorted(
            (f.balance_transaction_id, object_of.get(f.entry_id), f.kind, f.amount, f.fee,
             f.currency, f.campaign_id, f.outlet_id)
            for f in db.session.scalars(select(LedgerFee))
        )  # fmt: skip
    return {"ledger": ledger, "memberships": memberships, "donations": donations,
            "gifts": gifts, "grants": grants, "fees": fees}  # fmt: skip


def lose_every_webhook(app) -> None:
    """Put the database back where it was before any webhook arrived."""
    with app.app_context():
        for model in (StripeEvent, MailJob, PerkGrant, LedgerFee, LedgerEntry, Membership):
            db.session.execute(delete(model))
        for donation in db.session.scalars(select(Donation)):
            donation.status = DonationStatus.pending
            donation.paid_at = donation.ended_at = donation.stripe_subscription_id = None
            if donation.user_id is None:
                donation.email = None  # an anonymous donor's address comes from Checkout
        for gift in db.session.scalars(select(GiftMembership)):
            gift.status, gift.payment_intent_id, gift.paid_at = "pending", None, None
        db.session.commit()
    totals.MEMO.clear()


def test_reconcile_brings_back_every_kind_of_money_after_lost_webhooks(
    app, client, reader, auth, mailbox, runner, stripe_world
):
    ids = everything_sold(app, auth, mailbox, stripe_world)
    expected = state(app)
    raised = progress(client, SLUG)
    assert raised["raised"] == 2500 - 500 + 1000 * 2 + 6000 and raised["backers"] == 2
    assert len(expected["ledger"]) == 9 and len(expected["gifts"]) == 1

    lose_every_webhook(app)
    assert progress(client, SLUG)["raised"] == 0
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output

    assert state(app) == expected
    totals.MEMO.clear()
    assert progress(client, SLUG) == raised
    mended = [line for line in result.output.splitlines() if line.startswith("mended: ")]
    with app.app_context():
        sessions = db.session.scalars(select(Donation.stripe_checkout_session_id)).all()
        sessions.append(db.session.scalar(select(GiftMembership.checkout_session_id)))
        invoices = db.session.scalars(
            select(LedgerEntry.stripe_object_id).where(LedgerEntry.stripe_object_id.like("in_%"))
        ).all()
    named = [*sessions, *invoices, ids["monthly"], ids["refund"], ids["dispute"]]
    for object_id in named:
        assert any(object_id in line for line in mended), (object_id, result.output)
    # The 4 gifts' checkouts, a membership and its 2 invoices, the monthly gift's second month,
    # a refund and a dispute: one line each (the monthly gift's end came with its checkout).
    fee_lines = [line for line in mended if line.startswith("mended: fee txn_")]
    assert len(mended) - len(fee_lines) == 10
    # Every balance transaction of the app's money came back: the charges', the refund's and
    # the dispute's (its fee).
    assert len(fee_lines) == len(expected["fees"])
    assert {"charge", "refund", "adjustment"} == {fee[2] for fee in expected["fees"]}
    gift_line = next(line for line in mended if "(gift membership " in line)
    assert "status 'pending' → 'paid'" in gift_line and "added to the ledger" in gift_line
    anonymous = next(line for line in mended if "€60.00 added" in line)
    assert "email none → set" in anonymous and "donor@example.org" not in result.output
    assert f"refund {ids['refund']} of -€5.00 added to the ledger" in result.output
    assert f"dispute {ids['dispute']}: lost dispute of -€15.00 added to the ledger" in result.output
    assert result.output.splitlines()[-1].endswith(f": {len(mended)} differences mended.")

    again = runner.invoke(args=["stripe", "reconcile"])
    assert again.exit_code == 0, again.output
    assert "mended:" not in again.output
    assert again.output.splitlines()[-1].endswith(": 0 differences mended.")
    assert state(app) == expected


def test_reconcile_restores_a_single_lost_ledger_row(
    app, client, reader, auth, mailbox, runner, stripe_world
):
    ids = everything_sold(app, auth, mailbox, stripe_world)
    expected = state(app)
    with app.app_context():
        db.session.execute(delete(LedgerEntry).where(LedgerEntry.stripe_object_id == ids["refund"]))
        db.session.commit()
    result = runner.invoke(args=["stripe", "reconcile"])
    mended = [line for line in result.output.splitlines() if line.startswith("mended: ")]
    assert len(mended) == 1 and mended[0].startswith("mended: charge ch_")
    assert mended[0].endswith(f": refund {ids['refund']} of -€5.00 added to the ledger")
    assert state(app) == expected
