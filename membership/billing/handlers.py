"""Webhook handlers for memberships and for the ledger's refunds and disputes.

Each re-reads the object from Stripe (or reads a final state, such as a paid invoice), so the
result never depends on the order in which events arrive.
"""

from __future__ import annotations

from sqlalchemy import select

from membership.accounts.models import User
from membership.billing import checkout, dunning, fees, origins, reminders, services
from membership.billing import stripe_gateway as gateway
from membership.billing.events import data_object, on
from membership.billing.stripe_objects import CheckoutSession, Invoice
from membership.extensions import db
from membership.timeutil import from_unix, utcnow


@on(
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
)
def checkout_completed(event: dict) -> None:
    """A membership Checkout finished (or its delayed payment did): expire the reader's other
    open membership Checkouts, and mirror its subscription."""
    session = CheckoutSession.from_stripe(data_object(event))
    if session.metadata.get("kind") != services.KIND or not session.subscription:
        return
    if event["type"] != "checkout.session.async_payment_failed":
        checkout.expire_other_checkouts(session)
    if services.membership_for(session.subscription) is None:
        # Otherwise the subscription's own events keep the membership current.
        services.sync_subscription(gateway.retrieve_subscription(session.subscription))


@on(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
)
def subscription_changed(event: dict) -> None:
    """Any change to a subscription: re-read it and mirror it."""
    services.sync_subscription(gateway.retrieve_subscription(data_object(event)["id"]))


@on("customer.discount.created", "customer.discount.updated", "customer.discount.deleted")
def discount_changed(event: dict) -> None:
    """A coupon went on or came off a subscription: re-read it (what a renewal charges moved)."""
    subscription_id = data_object(event).get("subscription")
    if subscription_id:
        services.sync_subscription(gateway.retrieve_subscription(subscription_id))


@on("invoice.paid")
def invoice_paid(event: dict) -> None:
    """A paid invoice is final: record it (which settles its payment recovery, if it had
    failed before); re-read a subscription that may have recovered."""
    invoice = Invoice.from_stripe(data_object(event))
    if not invoice.subscription_id or not services.is_membership_invoice(invoice):
        return
    membership = services.membership_for(invoice.subscription_id)
    # A renewal of an active membership changes nothing else (its period moves with
    # customer.subscription.updated); a past-due one recovers now. Stripe is read and the
    # membership locked before the ledger and the recovery, as every other handler does.
    if membership is not None and membership.status not in ("active", "trialing"):
        membership = services.sync_subscription(
            gateway.retrieve_subscription(invoice.subscription_id)
        )
    services.record_invoice(invoice, membership=membership)


@on("invoice.payment_failed", "invoice.payment_action_required")
def invoice_payment_failed(event: dict) -> None:
    """A renewal failed: mirror the subscription (past_due), open its payment recovery and
    mail the reader once per invoice (then the reminder and last notice, dunning.py)."""
    invoice = Invoice.from_stripe(data_object(event))
    if not services.is_membership_invoice(invoice):
        return
    dunning.payment_failed(invoice)


@on("invoice.voided", "invoice.marked_uncollectible")
def invoice_given_up(event: dict) -> None:
    """An invoice will not be collected: a failing renewal is lost (its mails stop)."""
    invoice = Invoice.from_stripe(data_object(event))
    if services.is_membership_invoice(invoice):
        dunning.invoice_given_up(invoice)


@on("customer.subscription.trial_will_end")
def trial_will_end(event: dict) -> None:
    """Three days before a trial ends (after subscription_changed above mirrored it): mail
    "your trial ends on …" once."""
    reminders.trial_ending(data_object(event)["id"])


@on("invoice.upcoming")
def invoice_upcoming(event: dict) -> None:
    """A renewal is coming (Stripe's preview invoice, which has no id): a yearly membership's
    member is told once per period."""
    sent_at = from_unix(event.get("created")) or utcnow()
    reminders.renewal_coming(data_object(event), sent_at)


@on(
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
)
def charge_refunded(event: dict) -> None:
    """Money went back, or a refund changed state (pending → succeeded, failed or canceled):
    re-read the charge with all its refunds and follow each in the ledger."""
    obj = data_object(event)
    charge_id = obj.get("charge") if obj.get("object") == "refund" else obj.get("id")
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id")
    if not charge_id:
        return
    charge = gateway.retrieve_charge(charge_id)
    origins.record_charge_refunds(charge)
    fees.record_charge_fees(charge)


@on("charge.succeeded", "charge.updated")
def charge_succeeded(event: dict) -> None:
    """A payment's charge succeeded (or its balance transaction arrived): re-read it with its
    balance transaction and keep Stripe's fee beside the payment."""
    charge_id = data_object(event).get("id")
    if charge_id:
        fees.record_charge_fees(gateway.retrieve_charge(charge_id))


@on("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
def dispute_changed(event: dict) -> None:
    """A dispute moved: a lost one nets its payment in the ledger; its fee (and the fee's return
    when won) is kept beside the payment."""
    dispute = gateway.retrieve_dispute(data_object(event)["id"])
    origins.record_dispute(dispute)
    fees.record_dispute_fees(dispute)


@on("customer.deleted")
def customer_deleted(event: dict) -> None:
    """The Stripe customer is gone: forget the link (its subscriptions send their own events)."""
    customer_id = data_object(event).get("id")
    for user in db.session.scalars(select(User).where(User.stripe_customer_id == customer_id)):
        user.stripe_customer_id = None
