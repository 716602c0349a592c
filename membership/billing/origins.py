"""The payment a refund or dispute takes money back from, when its own events are late.

Stripe may deliver a refund before the payment it refunds. The handler then reads the payment's
origin from Stripe first (its payment intent, and the invoice it paid, if any), and only then
lets each domain record the payment, taking its row locks: no Stripe call is made while a
campaign, donation or membership row is locked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from membership.billing import stripe_gateway as gateway
from membership.billing.stripe_objects import Charge, Dispute, Invoice, PaymentIntent, Refund
from membership.ledger import services as ledger


@dataclass(frozen=True)
class Origin:
    """What Stripe says a payment intent paid for: an invoice (memberships, monthly gifts), or
    a one-time payment whose intent carries our metadata."""

    payment_intent_id: str
    payment_intent: PaymentIntent | None  # read when it paid no invoice
    invoice_id: str | None
    invoice: Invoice | None  # read when the ledger does not have the invoice yet


# Functions that record the payment an origin describes when it is theirs (domains register
# theirs); each only writes, with the Stripe objects already read.
RESOLVERS: list[Callable[[Origin], None]] = []
# The resolvers a fee may use when its charge arrives before its payment: the fundraiser's
# (whose handlers take the same locks in the same order: the donation, then the ledger), and
# one that only links a recorded membership invoice to its payment intent. A membership payment
# is never recorded from a fee (its handlers lock the membership first); a fee whose membership
# payment is not recorded yet is mended by reconciliation.
FEE_RESOLVERS: list[Callable[[Origin], None]] = []


def read_origin(payment_intent_id: str | None) -> Origin | None:
    """Stripe's view of a payment not in the ledger yet (None when it is, or there is none)."""
    if not payment_intent_id or ledger.payment_for(payment_intent_id) is not None:
        return None
    invoice_id = gateway.invoice_for_payment_intent(payment_intent_id)
    if invoice_id is None:
        intent = gateway.retrieve_payment_intent(payment_intent_id)
        return Origin(payment_intent_id, intent, None, None)
    # A recorded invoice only needs its payment intent linked; no need to read it again.
    known = ledger.entry_for(invoice_id) is not None
    invoice = None if known else gateway.retrieve_invoice(invoice_id)
    return Origin(payment_intent_id, None, invoice_id, invoice)


def resolve(payment_intent_id: str | None, resolvers=None) -> None:
    """Record the payment behind a payment intent when it is missing: read, then write (with
    every domain's resolvers, or the ones given)."""
    origin = read_origin(payment_intent_id)
    if origin is None:
        return
    for resolver in RESOLVERS if resolvers is None else resolvers:
        resolver(origin)
        if ledger.payment_for(payment_intent_id) is not None:
            return


def as_reversal(refund: Refund, charge: Charge) -> ledger.Reversal:
    """A refund of a charge, in the ledger's plain values."""
    return ledger.Reversal(
        id=refund.id,
        amount=refund.amount,
        currency=refund.currency or charge.currency,
        status=refund.status,
        created=refund.created,
        payment_intent_id=refund.payment_intent or charge.payment_intent,
    )


def dispute_reversal(dispute: Dispute) -> ledger.Reversal:
    """A dispute, in the ledger's plain values."""
    return ledger.Reversal(
        id=dispute.id,
        amount=dispute.amount,
        currency=dispute.currency,
        status=dispute.status,
        created=dispute.created,
        payment_intent_id=dispute.payment_intent,
    )


def record_charge_refunds(charge: Charge) -> int:
    """Follow every refund of a charge (read from Stripe with its refunds) in the ledger;
    returns how many rows were new."""
    if not any(r.status in (*ledger.REFUND_TAKEN, *ledger.REFUND_UNDONE) for r in charge.refunds):
        return 0
    resolve(charge.payment_intent)
    return sum(ledger.record_refund(as_reversal(refund, charge)) for refund in charge.refunds)


def record_dispute(dispute: Dispute) -> bool:
    """A dispute read from Stripe, in the ledger (only a lost one moves money)."""
    if dispute.status != "lost":
        return False
    resolve(dispute.payment_intent)
    return ledger.record_dispute(dispute_reversal(dispute))
