"""Reconciliation: read Stripe's objects and feed them through the webhook code path."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from membership import audit
from membership.billing import origins, services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership
from membership.extensions import db

Progress = Callable[[Iterable, str], Iterable]


@dataclass
class Report:
    """What reconciliation looked at and what it mended."""

    subscriptions: int = 0
    invoices: int = 0
    refunds: int = 0
    disputes: int = 0
    differences: list[str] = field(default_factory=list)


def _snapshot(subscription_id: str) -> dict | None:
    """The tracked fields of a membership, to compare before and after."""
    membership = db.session.scalar(
        select(Membership).where(Membership.stripe_subscription_id == subscription_id)
    )
    if membership is None:
        return None
    return {name: getattr(membership, name) for name in services.TRACKED}


def reconcile(since: datetime | None = None, progress: Progress | None = None) -> Report:
    """Repair local state from Stripe's; every difference mended is in the report."""
    progress = progress or (lambda items, label: items)
    created_gte = int(since.timestamp()) if since else None
    report = Report()

    subscriptions = [
        s for s in gateway.list_subscriptions(created_gte) if services.is_membership(s)
    ]
    for subscription in progress(subscriptions, "Subscriptions"):
        report.subscriptions += 1
        before = _snapshot(subscription.id)
        membership = services.sync_subscription(subscription)
        if membership is None:
            continue
        if before is None:
            report.differences.append(
                f"subscription {subscription.id}: membership created ({subscription.status})"
            )
            continue
        for name in services.TRACKED:
            after = getattr(membership, name)
            if before[name] != after:
                report.differences.append(
                    f"subscription {subscription.id}: {name} {before[name]!r} → {after!r}"
                )

    invoices = [i for i in gateway.list_invoices(created_gte) if i.status == "paid"]
    for invoice in progress(invoices, "Invoices"):
        report.invoices += 1
        if services.record_invoice(invoice):
            report.differences.append(f"invoice {invoice.id}: payment added to the ledger")

    refunded = sorted({r["charge"] for r in gateway.list_refunds(created_gte) if r.get("charge")})
    for charge_id in progress(refunded, "Refunds"):
        report.refunds += 1
        if origins.record_charge_refunds(gateway.retrieve_charge(charge_id)):
            report.differences.append(f"charge {charge_id}: refund added to the ledger")

    disputes = list(gateway.list_disputes(created_gte))
    for dispute in progress(disputes, "Disputes"):
        report.disputes += 1
        if origins.record_dispute(dispute):
            report.differences.append(f"dispute {dispute.id}: lost dispute added to the ledger")

    audit.record(
        "stripe.reconciled", "stripe", "account", since=since.isoformat() if since else None,
        differences=report.differences[:500], count=len(report.differences),
    )  # fmt: skip
    db.session.flush()
    return report
