"""Reconciliation of fees: Stripe's balance transactions against the ledger's fee rows.

A balance transaction the ledger lacks (its webhook was lost) is recorded beside its payment,
through the same function the webhook handlers use; one whose fee differs from the ledger's is
printed, never overwritten (the ledger is append-only); a fee row Stripe does not list is
printed too. As everywhere in reconciliation, each page is read from Stripe (with the origins of
payments the ledger does not have yet) before anything is locked, then written and committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from membership.billing import origins, stripe_lists
from membership.billing.fees import as_fee
from membership.billing.stripe_objects import BalanceTransaction
from membership.extensions import db
from membership.ledger import services as ledger
from membership.ledger.models import LedgerFee
from membership.money import format_money


def reconcile_fees(report, checkpoint: Callable[[], None], gte: int | None,
                   since: datetime | None, progress) -> None:  # fmt: skip
    """Walk Stripe's balance transactions, mending missing fees and reporting differences."""
    from membership.billing.reconcile import _batches

    seen: set[str] = set()
    pages = stripe_lists.balance_transaction_pages(gte)
    for txn, found in progress(_batches(pages, checkpoint, _read_origins), "Fees"):
        report.fees += 1
        seen.add(txn.id)
        _mend_fee(txn, found, report)
    query = select(LedgerFee.balance_transaction_id)
    if since is not None:
        query = query.where(LedgerFee.occurred_at >= since)
    for missing in sorted(set(db.session.scalars(query)) - seen):
        report.fee_differences.append(f"{missing}: in the ledger, not at Stripe")


def _read_origins(page: list[BalanceTransaction], checkpoint) -> dict[str, origins.Origin]:
    """Stripe's view of the payments behind the page that the ledger does not have yet."""
    wanted = {t.source_payment_intent for t in page if t.source_payment_intent}
    checkpoint()
    found = {pi: origins.read_origin(pi) for pi in sorted(wanted)}
    return {pi: origin for pi, origin in found.items() if origin is not None}


def _mend_fee(txn: BalanceTransaction, found: dict[str, origins.Origin], report) -> None:
    """Compare one balance transaction with the ledger; record it when missing."""
    ours = db.session.scalar(select(LedgerFee).where(LedgerFee.balance_transaction_id == txn.id))
    if ours is not None:
        if (ours.fee, ours.currency) != (txn.fee, txn.currency):
            report.fee_differences.append(
                f"{txn.id} ({txn.source}): ledger {format_money(ours.fee, ours.currency)}, "
                f"Stripe {format_money(txn.fee, txn.currency)}"
            )
        return
    intent = txn.source_payment_intent
    if not intent:
        return
    origin = found.get(intent)
    if origin is not None and ledger.payment_for(intent) is None:
        for resolver in origins.RESOLVERS:
            resolver(origin)
            if ledger.payment_for(intent) is not None:
                break
    payment = ledger.payment_for(intent)
    if payment is None:  # not the app's money
        return
    if ledger.record_fee(as_fee(txn, txn.source or ""), payment) is not None:
        report.mended(
            f"fee {txn.id} ({txn.source})",
            [f"{format_money(txn.fee, txn.currency)} added beside {payment.stripe_object_id}"],
        )
