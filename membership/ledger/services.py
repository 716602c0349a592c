"""Writing the ledger. Every row is keyed by the Stripe object that moved the money."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from membership.billing.stripe_objects import Charge, Dispute
from membership.database import insert_new
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry

log = logging.getLogger(__name__)

# Columns a refund or lost dispute copies from the payment it reverses, so that every report that
# groups payments (by member, membership, campaign, outlet) nets them in the same group.
ATTRIBUTION_COLUMNS: list[str] = ["user_id", "membership_id"]
ATTRIBUTION_COLUMNS += ["campaign_id", "outlet_id", "donation_id"]  # the collective fundraiser

# Functions that, given a payment intent id, record the payment it belongs to when it is not in
# the ledger yet (a refund's webhook may arrive before the payment's). Domains register theirs.
ORIGIN_RESOLVERS: list[Callable[[str], None]] = []

# Called with each new row, e.g. to invalidate cached totals.
ON_NEW_ENTRY: list[Callable[[LedgerEntry], None]] = []


def record(
    kind: EntryKind,
    amount: int,
    currency: str,
    stripe_object_id: str,
    occurred_at: datetime,
    **attributes,
) -> LedgerEntry | None:
    """Add a row unless one exists for this Stripe object; returns the new row, or None."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("amounts are integers in minor units")
    values = {
        "kind": kind,
        "amount": amount,
        "currency": currency.lower(),
        "stripe_object_id": stripe_object_id,
        "occurred_at": occurred_at,
        **attributes,
    }
    entry = insert_new(LedgerEntry, "stripe_object_id", values)
    if entry is None:
        return None
    for hook in ON_NEW_ENTRY:
        hook(entry)
    return entry


def entries_of(user_id: int, limit: int = 50) -> list[LedgerEntry]:
    """A reader's ledger rows (payments, refunds, disputes), newest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id)
            .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
        )
    )


def payment_for(payment_intent_id: str | None) -> LedgerEntry | None:
    """The ledger row of the payment a payment intent made, resolving its origin when missing."""
    if not payment_intent_id:
        return None
    query = select(LedgerEntry).where(
        LedgerEntry.payment_intent_id == payment_intent_id,
        LedgerEntry.kind.not_in((EntryKind.refund, EntryKind.dispute)),
    )
    entry = db.session.scalar(query)
    if entry is None:
        for resolve in ORIGIN_RESOLVERS:
            resolve(payment_intent_id)
        entry = db.session.scalar(query)
    return entry


def _reversal(origin: LedgerEntry | None, customer_user_id: int | None) -> dict:
    """The attribution a reversing row copies from its payment."""
    if origin is None:
        return {"user_id": customer_user_id}
    values = {column: getattr(origin, column) for column in ATTRIBUTION_COLUMNS}
    values["reverses_id"] = origin.id
    return values


def record_refunds(charge: Charge, customer_user_id: int | None = None) -> int:
    """Add a negative row for each succeeded refund of a charge; returns how many were new."""
    origin = payment_for(charge.payment_intent)
    added = 0
    for refund in charge.refunds:
        if refund.status not in ("succeeded", "pending") or refund.amount <= 0:
            continue
        row = record(
            EntryKind.refund,
            -refund.amount,
            refund.currency or charge.currency,
            refund.id,
            refund.created,
            payment_intent_id=charge.payment_intent,
            description="refund",
            **_reversal(origin, customer_user_id),
        )
        added += row is not None
    return added


def record_dispute(dispute: Dispute, customer_user_id: int | None = None) -> bool:
    """Add a negative row when a dispute is lost; open or won disputes move no money for good."""
    if dispute.status != "lost" or dispute.amount <= 0:
        return False
    origin = payment_for(dispute.payment_intent)
    row = record(
        EntryKind.dispute,
        -dispute.amount,
        dispute.currency,
        dispute.id,
        dispute.created,
        payment_intent_id=dispute.payment_intent,
        description="dispute lost",
        **_reversal(origin, customer_user_id),
    )
    return row is not None
