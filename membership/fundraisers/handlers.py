"""Webhook handlers for donations. Each re-reads its object from Stripe (or reads a final state,
such as a paid invoice) and writes ledger rows keyed by Stripe ids, so duplicated and reordered
events end in the same state. Membership handlers ignore `kind=donation`; these ignore the rest."""

from __future__ import annotations

from membership.billing import stripe_gateway as gateway
from membership.billing.events import data_object, on
from membership.billing.stripe_objects import CheckoutSession, Invoice, PaymentIntent
from membership.fundraisers import giving
from membership.fundraisers.campaigns import KIND


@on("checkout.session.completed", "checkout.session.async_payment_succeeded")
def donation_checkout_completed(event: dict) -> None:
    """A donor finished Checkout: mark the donation and record its payment."""
    session = CheckoutSession.from_stripe(data_object(event))
    if session.metadata.get("kind") != KIND:
        return
    # Read everything first (one call), so no Stripe call runs under the donation's lock.
    checkout = gateway.retrieve_completed_checkout(session.id)
    giving.sync_checkout(
        checkout.session, checkout.payment_intent, checkout.subscription, checkout.invoice
    )


@on("payment_intent.succeeded")
def donation_payment_succeeded(event: dict) -> None:
    """A one-time gift's payment succeeded (may arrive before the Checkout event)."""
    intent = PaymentIntent.from_stripe(data_object(event))
    if intent.metadata.get("kind") != KIND:
        return
    giving.record_payment(gateway.retrieve_payment_intent(intent.id))


@on("invoice.paid")
def donation_invoice_paid(event: dict) -> None:
    """One month of a monthly gift was paid; a paid invoice is final."""
    invoice = Invoice.from_stripe(data_object(event))
    if invoice.subscription_metadata.get("kind") != KIND:
        return
    giving.record_invoice(invoice)


@on("customer.subscription.updated", "customer.subscription.deleted")
def donation_subscription_changed(event: dict) -> None:
    """A monthly gift's subscription changed: re-read it; cancelled ends the monthly gift."""
    obj = data_object(event)
    if (obj.get("metadata") or {}).get("kind") != KIND:
        return
    giving.sync_donation_subscription(gateway.retrieve_subscription(obj["id"]))
