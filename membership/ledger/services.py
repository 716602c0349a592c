"""Writing the ledger. Every row is keyed by the Stripe object that moved the money.

The ledger knows no Stripe objects: the billing handlers translate refunds and disputes into
`Reversal` values, and record the payment a reversal belongs to (the origin resolvers) before
they hand it over, so nothing here calls Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from membership.database import insert_new
from membership.extensions import db
from membership.ledger.models import (
    REVERSING_KINDS,
    EntryKind,
    LedgerEntry,
    LedgerFee,
    UnattributedMoney,
)

log = logging.getLogger(__name__)

# Columns a refund or lost dispute copies from the payment it reverses, so that every report that
# groups payments (by member, membership, campaign, outlet) nets them in the same group.
ATTRIBUTION_COLUMNS: list[str] = ["user_id", "membership_id"]
ATTRIBUTION_COLUMNS += ["campaign_id", "outlet_id", "donation_id"]  # the collective fundraiser

# Called with each new row, e.g. to invalidate cached totals.
ON_NEW_ENTRY: list[Callable[[LedgerEntry], None]] = []
# Called with each new fee row.
ON_NEW_FEE: list[Callable[[LedgerFee], None]] = []
# Called with the payment before its fee row is written: the fundraiser locks the campaign row
# there, so a fee takes the campaign before its own unique slot, as every ledger row does.
BEFORE_FEE: list[Callable[[LedgerEntry], None]] = []

# A refund's status: money is on its way back (the row is written), or it never went back.
REFUND_TAKEN = ("pending", "requires_action", "succeeded")
REFUND_UNDONE = ("failed", "canceled")
# The key of the row that nets a failed or canceled refund: one per refund, whatever its
# final status, so no sequence of events can count the failure twice.
UNDONE_SUFFIX = "_undone"


@dataclass(frozen=True)
class Reversal:
    """Money taken back from a payment (a refund or a dispute), in plain values."""

    id: str  # the refund's or dispute's id (re_…, dp_…)
    amount: int  # positive, minor units
    currency: str
    status: str  # Stripe's status of the refund or dispute
    created: datetime
    payment_intent_id: str | None


@dataclass(frozen=True)
class Fee:
    """One balance transaction's effect, in plain values: Stripe's amount and fee, signed, in
    Stripe's currency (a cost is a positive fee, a fee given back a negative one)."""

    balance_transaction_id: str
    source_id: str  # the charge, refund or dispute that moved the balance
    kind: str  # Stripe's balance transaction type
    amount: int
    fee: int
    currency: str
    exchange_rate: str | None
    occurred_at: datetime


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


def record_fee(fee: Fee, payment: LedgerEntry) -> LedgerFee | None:
    """Keep a balance transaction's fee beside the payment it belongs to (once per balance
    transaction); returns the new row, or None when it was known."""
    if not isinstance(fee.fee, int) or isinstance(fee.fee, bool):
        raise TypeError("fees are integers in minor units")
    values = {
        "balance_transaction_id": fee.balance_transaction_id,
        "entry_id": payment.id,
        "source_id": fee.source_id,
        "kind": fee.kind[:32],
        "amount": fee.amount,
        "fee": fee.fee,
        "currency": fee.currency.lower(),
        "exchange_rate": fee.exchange_rate,
        "campaign_id": payment.campaign_id,
        "outlet_id": payment.outlet_id,
        "occurred_at": fee.occurred_at,
    }
    for hook in BEFORE_FEE:
        hook(payment)
    row = insert_new(LedgerFee, "balance_transaction_id", values)
    if row is not None:
        for hook in ON_NEW_FEE:
            hook(row)
    return row


def fees_of(payment_ids: Iterable[int]) -> list[LedgerFee]:
    """The fee rows of some payments, in Stripe's order."""
    return list(
        db.session.scalars(
            select(LedgerFee)
            .where(LedgerFee.entry_id.in_(list(payment_ids)))
            .order_by(LedgerFee.occurred_at, LedgerFee.id)
        )
    )


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
    """The ledger row of the payment a payment intent made (None when it is not recorded)."""
    if not payment_intent_id:
        return None
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.payment_intent_id == payment_intent_id,
            LedgerEntry.kind.not_in(REVERSING_KINDS),
        )
    )


def entry_for(stripe_object_id: str) -> LedgerEntry | None:
    """The row of a Stripe object (in_…, pi_…), if recorded."""
    return db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.stripe_object_id == stripe_object_id)
    )


def link_payment_intent(entry: LedgerEntry, payment_intent_id: str) -> None:
    """Note on an invoice's row the payment intent that paid it (first needed by a refund)."""
    if entry.payment_intent_id is None:
        entry.payment_intent_id = payment_intent_id
        db.session.flush()


def _reversal(origin: LedgerEntry) -> dict:
    """The attribution a reversing row copies from its payment."""
    values = {column: getattr(origin, column) for column in ATTRIBUTION_COLUMNS}
    values["reverses_id"] = origin.id
    return values


def record_refund(refund: Reversal) -> int:
    """Follow a refund's state in the ledger; returns how many rows were new (0, 1 or 2).

    A refund that is pending, waiting for action or succeeded takes its amount back from its
    payment. One that failed or was canceled returned nothing: it gets its refund row (if no
    earlier event wrote it) and the row that nets it, so whatever order or number of events
    Stripe sends, a refund ends as the same rows. A refund of a payment the app did not record
    is not the app's money: it goes to the unattributed list, not the ledger.
    """
    if refund.amount <= 0 or refund.status not in (*REFUND_TAKEN, *REFUND_UNDONE):
        return 0
    origin = payment_for(refund.payment_intent_id)
    if origin is None:
        record_unattributed("refund", "unknown_payment", -refund.amount, refund)
        return 0
    attribution = _reversal(origin)
    row = record(
        EntryKind.refund,
        -refund.amount,
        refund.currency or origin.currency,
        refund.id,
        refund.created,
        payment_intent_id=refund.payment_intent_id,
        description="refund",
        **attribution,
    )
    added = row is not None
    if refund.status in REFUND_UNDONE:
        # Dated like the refund, so every report by period nets the two rows in the same period.
        counter = record(
            EntryKind.refund_failed,
            refund.amount,
            refund.currency or origin.currency,
            refund.id + UNDONE_SUFFIX,
            refund.created,
            payment_intent_id=refund.payment_intent_id,
            description=f"refund {refund.status}",
            **attribution,
        )
        added += counter is not None
    return added


def record_dispute(dispute: Reversal) -> bool:
    """Add a negative row when a dispute is lost; open or won disputes move no money for good."""
    if dispute.status != "lost" or dispute.amount <= 0:
        return False
    origin = payment_for(dispute.payment_intent_id)
    if origin is None:
        record_unattributed("dispute", "unknown_payment", -dispute.amount, dispute)
        return False
    row = record(
        EntryKind.dispute,
        -dispute.amount,
        dispute.currency,
        dispute.id,
        dispute.created,
        payment_intent_id=dispute.payment_intent_id,
        description="dispute lost",
        **_reversal(origin),
    )
    return row is not None


def undone_refunds(rows: Iterable[LedgerEntry]) -> set[str]:
    """The ids of the refunds among `rows` that a `refund_failed` row nets."""
    return {
        row.stripe_object_id.removesuffix(UNDONE_SUFFIX)
        for row in rows
        if row.kind == EntryKind.refund_failed
    }


def effective_reversals(rows: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """The refunds and lost disputes among `rows` that took money back for good, in order."""
    rows = list(rows)
    undone = undone_refunds(rows)
    return [
        row
        for row in rows
        if row.kind in (EntryKind.refund, EntryKind.dispute) and row.stripe_object_id not in undone
    ]


# --- money the app cannot attribute ---------------------------------------------------------


def record_unattributed(
    kind: str, reason: str, amount: int, obj: Reversal | None = None, **values
) -> UnattributedMoney:
    """List money Stripe reported that no total may count (once per Stripe object; the status
    follows the object). `obj` gives the id, currency, status, time and payment intent."""
    if obj is not None:
        values = {
            "stripe_object_id": obj.id,
            "currency": obj.currency,
            "status": obj.status,
            "occurred_at": obj.created,
            "payment_intent_id": obj.payment_intent_id,
            **values,
        }
    values = {"kind": kind, "reason": reason, "amount": amount, **values}
    values["currency"] = (values.get("currency") or "").lower()[:3]
    row = insert_new(UnattributedMoney, "stripe_object_id", values)
    if row is None:
        row = db.session.scalar(
            select(UnattributedMoney).where(
                UnattributedMoney.stripe_object_id == values["stripe_object_id"]
            )
        )
        row.status = values.get("status", row.status)
        db.session.flush()
    else:
        log.warning("unattributed %s %s (%s): %s %s", kind, row.stripe_object_id, reason,
                    amount, row.currency)  # fmt: skip
    return row


def unattributed(limit: int = 100) -> list[UnattributedMoney]:
    """The staff list: unattributed money, newest first, leaving out what the ledger has since
    recorded (a payment whose origin became known)."""
    in_ledger = select(LedgerEntry.id).where(
        LedgerEntry.stripe_object_id == UnattributedMoney.stripe_object_id
    )
    return list(
        db.session.scalars(
            select(UnattributedMoney)
            .where(~in_ledger.exists())
            .order_by(UnattributedMoney.occurred_at.desc(), UnattributedMoney.id.desc())
            .limit(limit)
        )
    )
