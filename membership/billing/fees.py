"""Stripe's fees into the ledger: each payment's balance transaction, and those of its refunds
and disputes, converted into the ledger's plain `Fee` values (the ledger knows no Stripe).

Like refunds, a fee finds its payment through the payment intent; when a gift to a fundraiser
is not in the ledger yet, its origin is read from Stripe first and recorded (origins.resolve
with FEE_RESOLVERS), so the order in which Stripe delivers events does not matter. A membership
payment's fee waits for its payment (reconciliation mends one whose charge came first). Each
balance transaction is recorded once, so duplicated and replayed events add nothing.
"""

from __future__ import annotations

from membership.billing import origins
from membership.billing.stripe_objects import BalanceTransaction, Charge, Dispute
from membership.ledger import services as ledger


def as_fee(txn: BalanceTransaction, source_id: str) -> ledger.Fee:
    """A balance transaction in the ledger's plain values."""
    return ledger.Fee(
        balance_transaction_id=txn.id,
        source_id=txn.source or source_id,
        kind=txn.type,
        amount=txn.amount,
        fee=txn.fee,
        currency=txn.currency,
        exchange_rate=txn.exchange_rate,
        occurred_at=txn.created,
    )


def charge_transactions(charge: Charge) -> list[tuple[BalanceTransaction, str]]:
    """The expanded balance transactions of a charge and of each of its refunds."""
    found = []
    if charge.balance_transaction is not None:
        found.append((charge.balance_transaction, charge.id))
    for refund in charge.refunds:
        for txn in (refund.balance_transaction, refund.failure_balance_transaction):
            if txn is not None:
                found.append((txn, refund.id))
    return found


def _record(payment_intent_id: str | None, transactions) -> int:
    """Record transactions beside the payment of a payment intent; returns how many were new."""
    if not payment_intent_id or not transactions:
        return 0
    if ledger.payment_for(payment_intent_id) is None:
        origins.resolve(payment_intent_id, origins.FEE_RESOLVERS)
    payment = ledger.payment_for(payment_intent_id)
    if payment is None:  # not the app's money (another product on the same account)
        return 0
    return sum(ledger.record_fee(as_fee(txn, source), payment) is not None
               for txn, source in transactions)  # fmt: skip


def record_charge_fees(charge: Charge) -> int:
    """A charge (read with its balance transaction and refunds'): its fee and the refunds'
    (always 0: Stripe keeps the fee on a refund)."""
    return _record(charge.payment_intent, charge_transactions(charge))


def record_dispute_fees(dispute: Dispute) -> int:
    """A dispute's balance transactions: the dispute fee when it opened, its return if won."""
    return _record(dispute.payment_intent, [(t, dispute.id) for t in dispute.balance_transactions])
