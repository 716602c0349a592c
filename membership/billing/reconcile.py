"""Reconciliation: read Stripe's objects and feed them through the webhook code path.

Every kind of money the app sells is walked, in this order: completed Checkout Sessions (one-time
gifts, the first month of monthly gifts, gift memberships), subscriptions (memberships and
monthly gifts), paid invoices (memberships and monthly gifts, renewals included), refunds and
disputes. Each object goes through the function its webhook handler uses, so reconciliation
cannot put state anywhere a webhook would not.

Each walk goes a page at a time: read the page from Stripe (and whatever its objects need) with
no transaction open, then lock and write, then commit. No row lock is held while Stripe is
asked, and an interrupted run keeps every page it finished.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from membership import audit
from membership.billing import origins, services, stripe_lists
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership
from membership.billing.stripe_objects import (
    Charge,
    CompletedCheckout,
    Dispute,
    Invoice,
    Subscription,
)
from membership.edge import parse_id
from membership.extensions import db
from membership.fundraisers import giving
from membership.fundraisers.campaigns import KIND as DONATION
from membership.fundraisers.models import Donation
from membership.gifts import services as gifts
from membership.gifts.models import GiftMembership
from membership.ledger.models import NEGATIVE_KINDS, LedgerEntry
from membership.money import format_money

Progress = Callable[[Iterable, str], Iterable]

DONATION_FIELDS = ("status", "email", "user_id", "stripe_subscription_id", "paid_at", "ended_at")
GIFT_FIELDS = ("status", "payment_intent_id", "paid_at")
PRIVATE_FIELDS = {"email"}  # shown as set or none: the output and the audit log name no donor


@dataclass
class Report:
    """What reconciliation looked at, and each difference it mended (one line per object)."""

    checkouts: int = 0
    subscriptions: int = 0
    invoices: int = 0
    refunds: int = 0
    disputes: int = 0
    fees: int = 0  # balance transactions compared
    fee_differences: list[str] = field(default_factory=list)  # reported, not mended
    differences: list[str] = field(default_factory=list)  # committed
    unsaved: list[str] = field(default_factory=list)  # mended in the batch not yet committed

    def mended(self, what: str, parts: list[str]) -> None:
        """Note one object's differences (nothing when there were none)."""
        if parts:
            self.unsaved.append(f"{what}: {'; '.join(parts)}")

    def saved(self) -> None:
        """The batch was committed: its differences are for good."""
        self.differences += self.unsaved
        self.unsaved.clear()

    def summary(self) -> str:
        """One line: what was looked at and how much was mended."""
        return (
            f"Reconciled {self.checkouts} checkout sessions, {self.subscriptions} subscriptions, "
            f"{self.invoices} paid invoices, {self.refunds} refunded charges, "
            f"{self.disputes} disputes, {self.fees} balance transactions "
            f"({len(self.fee_differences)} fee differences): "
            f"{len(self.differences)} differences mended."
        )


def reconcile(
    commit: Callable[[], None],
    since: datetime | None = None,
    progress: Progress | None = None,
    report: Report | None = None,
) -> Report:
    """Repair local state from Stripe's, committing (with `commit`) after every page.

    Every difference mended is in the report, also when a Stripe error ends the run early (pass
    a report to read it then: what was committed stays mended).
    """
    progress = progress or (lambda items, label: items)
    report = report if report is not None else Report()
    gte = int(since.timestamp()) if since else None

    def checkpoint() -> None:
        commit()
        report.saved()

    checkpoint()  # nothing of the caller's stays open while Stripe is read
    batches = _batches(stripe_lists.completed_checkout_pages(gte), checkpoint)
    for checkout, _ in progress(batches, "Checkouts"):
        report.checkouts += 1
        _mend_checkout(checkout, report)

    batches = _batches(stripe_lists.subscription_pages(gte), checkpoint)
    for subscription, _ in progress(batches, "Subscriptions"):
        report.subscriptions += 1
        _mend_subscription(subscription, report)

    batches = _batches(stripe_lists.paid_invoice_pages(gte), checkpoint, _unmirrored_subscriptions)
    for invoice, unmirrored in progress(batches, "Invoices"):
        report.invoices += 1
        _mend_invoice(invoice, unmirrored, report)

    refunded = _once_each(stripe_lists.refunded_charge_pages(gte))
    batches = _batches(refunded, checkpoint, _read_charges)
    for charge_id, (charges, invoice_of) in progress(batches, "Refunds"):
        report.refunds += 1
        _mend_refunds(charges[charge_id], invoice_of, checkpoint, report)

    batches = _batches(stripe_lists.dispute_pages(gte), checkpoint, _dispute_origins)
    for dispute, invoice_of in progress(batches, "Disputes"):
        report.disputes += 1
        _mend_dispute(dispute, invoice_of, checkpoint, report)

    from membership.billing.reconcile_fees import reconcile_fees  # beside it, split by job

    reconcile_fees(report, checkpoint, gte, since, progress)
    record(report, since)
    return report


def record(report: Report, since: datetime | None, interrupted: str | None = None) -> None:
    """Write the run to the audit log (the staff area shows the last one)."""
    audit.record(
        "stripe.reconciled", "stripe", "account", since=since.isoformat() if since else None,
        differences=report.differences[:500], count=len(report.differences),
        fee_differences=report.fee_differences[:500], interrupted=interrupted,
    )  # fmt: skip
    db.session.flush()


# --- walking Stripe a page at a time --------------------------------------------------------


def _batches(
    pages: Iterable[list[Any]],
    checkpoint: Callable[[], None],
    prepare: Callable[[list[Any], Callable[[], None]], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Each object of each page, with what `prepare` read from Stripe for that page.

    The caller writes between two objects; once a page is done its writes are committed, and
    only then is the next page read, so Stripe is never asked while this run holds a lock.
    """
    for page in pages:
        context = prepare(page, checkpoint) if prepare else None
        for item in page:
            yield item, context
        checkpoint()


def _once_each(pages: Iterable[list[str]]) -> Iterator[list[str]]:
    """Pages of ids without the ids an earlier page had (a charge refunded twice is read once)."""
    seen: set[str] = set()
    for page in pages:
        fresh = [object_id for object_id in page if object_id not in seen]
        seen.update(fresh)
        if fresh:
            yield fresh


def _unmirrored_subscriptions(
    invoices: list[Invoice], checkpoint: Callable[[], None]
) -> dict[str, Subscription]:
    """The membership subscriptions these invoices bill that have no membership here, read from
    Stripe (those created before --since: the subscription walk saw the others)."""
    wanted = {i.subscription_id for i in invoices if _membership_invoice(i)}
    known = set(
        db.session.scalars(
            select(Membership.stripe_subscription_id).where(
                Membership.stripe_subscription_id.in_(sorted(wanted))
            )
        )
    )
    checkpoint()
    return {sid: gateway.retrieve_subscription(sid) for sid in sorted(wanted - known)}


def _read_charges(
    charge_ids: list[str], checkpoint: Callable[[], None]
) -> tuple[dict[str, Charge], dict[str, str]]:
    """The page's charges with all their refunds, and the invoices their payments paid."""
    charges = {charge_id: gateway.retrieve_charge(charge_id) for charge_id in charge_ids}
    intents = [charge.payment_intent for charge in charges.values()]
    return charges, _invoices_paid_by(intents, checkpoint)


def _dispute_origins(disputes: list[Dispute], checkpoint: Callable[[], None]) -> dict[str, str]:
    """The invoices the payments of the page's lost disputes paid."""
    lost = [d.payment_intent for d in disputes if d.status == "lost"]
    return _invoices_paid_by(lost, checkpoint)


def _invoices_paid_by(intents: list[str | None], checkpoint: Callable[[], None]) -> dict[str, str]:
    """For payment intents whose payment row does not name them yet: the invoice each paid.

    Invoice rows are written before their payment intent is known; a refund needs the link to
    find its payment. Reading it here, before the batch locks anything, spares the ledger's
    origin resolvers a Stripe call in the middle of the batch.
    """
    wanted = {pi for pi in intents if pi}
    linked = set(
        db.session.scalars(
            select(LedgerEntry.payment_intent_id).where(
                LedgerEntry.payment_intent_id.in_(sorted(wanted)),
                LedgerEntry.kind.not_in(NEGATIVE_KINDS),
            )
        )
    )
    checkpoint()
    found = {pi: gateway.invoice_for_payment_intent(pi) for pi in sorted(wanted - linked)}
    return {pi: invoice for pi, invoice in found.items() if invoice}


# --- mending one object ---------------------------------------------------------------------


def _mend_checkout(checkout: CompletedCheckout, report: Report) -> None:
    """A one-time gift, a monthly gift's first month or a gift membership that was paid.

    Membership sessions are left to the subscription walk that follows.
    """
    session = checkout.session
    kind = session.metadata.get("kind")
    if kind == DONATION:
        donation = _donation(session.metadata)
        if donation is None:
            return
        payments = [o.id for o in (checkout.payment_intent, checkout.invoice) if o is not None]
        before = _state(donation, DONATION_FIELDS)
        with _new_rows(LedgerEntry.stripe_object_id.in_(payments)) as added:
            giving.sync_checkout(
                session, checkout.payment_intent, checkout.subscription, checkout.invoice
            )
        parts = _changes(before, _state(donation, DONATION_FIELDS)) + _added(added, "payment")
        report.mended(f"checkout {session.id} (donation {donation.id})", parts)
    elif kind == gifts.KIND and checkout.payment_intent is not None:
        gift_id = parse_id(session.metadata.get("gift_id"))
        gift = _locked(GiftMembership, gift_id) if gift_id is not None else None
        if gift is None:
            return
        intent = checkout.payment_intent
        before = _state(gift, GIFT_FIELDS)
        with _new_rows(LedgerEntry.stripe_object_id == intent.id) as added:
            gifts.record_payment(gift, intent)
        parts = _changes(before, _state(gift, GIFT_FIELDS)) + _added(added, "payment")
        report.mended(f"checkout {session.id} (gift membership {gift.id})", parts)


def _mend_subscription(subscription: Subscription, report: Report) -> None:
    """A membership, or a monthly gift, mirrored from its subscription."""
    if subscription.metadata.get("kind") == DONATION:
        donation = _donation(subscription.metadata)
        if donation is None:
            return
        before = _state(donation, DONATION_FIELDS)
        giving.sync_donation_subscription(subscription, donation)
        parts = _changes(before, _state(donation, DONATION_FIELDS))
        report.mended(f"subscription {subscription.id} (donation {donation.id})", parts)
        return
    if not services.is_membership(subscription):
        return
    existing = db.session.scalar(
        select(Membership)
        .where(Membership.stripe_subscription_id == subscription.id)
        .with_for_update()
    )
    before = _state(existing, services.TRACKED) if existing is not None else None
    membership = services.sync_subscription(subscription)
    if membership is None:
        return  # no reader of ours (logged)
    if before is None:
        report.mended(
            f"subscription {subscription.id}",
            [f"membership created ({subscription.status})"],
        )
        return
    parts = _changes(before, _state(membership, services.TRACKED))
    report.mended(f"subscription {subscription.id} (membership {membership.id})", parts)


def _mend_invoice(invoice: Invoice, unmirrored: dict[str, Subscription], report: Report) -> None:
    """A paid month of a membership or of a monthly gift."""
    if invoice.subscription_metadata.get("kind") == DONATION:
        donation = _donation(invoice.subscription_metadata)
        if donation is None:
            return
        before = _state(donation, DONATION_FIELDS)
        with _new_rows(LedgerEntry.stripe_object_id == invoice.id) as added:
            giving.record_invoice(invoice, donation)
        parts = _changes(before, _state(donation, DONATION_FIELDS))
        parts += _added(added, "payment", invoice.id)
        report.mended(f"invoice {invoice.id} (donation {donation.id})", parts)
        return
    if not _membership_invoice(invoice):
        return
    if invoice.subscription_id in unmirrored:
        _mend_subscription(unmirrored[invoice.subscription_id], report)
    membership = services.membership_for(invoice.subscription_id)
    if membership is None:
        return  # its subscription has no reader of ours
    with _new_rows(LedgerEntry.stripe_object_id == invoice.id) as added:
        services.record_invoice(invoice, membership=membership)
    parts = _added(added, "payment", invoice.id)
    report.mended(f"invoice {invoice.id} (membership {membership.id})", parts)


def _mend_refunds(
    charge: Charge, invoice_of: dict[str, str], checkpoint: Callable[[], None], report: Report
) -> None:
    """Every refund of a charge, in the ledger against its payment."""
    if charge.payment_intent and not _linked(charge.payment_intent, invoice_of):
        checkpoint()  # the ledger's origin resolvers will ask Stripe: hold nothing then
    refunds = [refund.id for refund in charge.refunds]
    with _new_rows(LedgerEntry.stripe_object_id.in_(refunds)) as added:
        origins.record_charge_refunds(charge)
    report.mended(f"charge {charge.id}", _added(added, "refund"))


def _mend_dispute(
    dispute: Dispute, invoice_of: dict[str, str], checkpoint: Callable[[], None], report: Report
) -> None:
    """A lost dispute, in the ledger against its payment."""
    if dispute.status != "lost":
        return
    if dispute.payment_intent and not _linked(dispute.payment_intent, invoice_of):
        checkpoint()  # the ledger's origin resolvers will ask Stripe: hold nothing then
    with _new_rows(LedgerEntry.stripe_object_id == dispute.id) as added:
        origins.record_dispute(dispute)
    report.mended(f"dispute {dispute.id}", _added(added, "lost dispute", dispute.id))


# --- small helpers --------------------------------------------------------------------------


def _membership_invoice(invoice: Invoice) -> bool:
    """Whether an invoice bills a membership's subscription."""
    return bool(invoice.subscription_id) and services.is_membership_invoice(invoice)


def _locked(model, row_id: int):
    """A row by id, locked until the batch commits, read afresh."""
    return db.session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _donation(metadata: dict[str, str]) -> Donation | None:
    """The donation Stripe metadata names, locked (as the webhook handlers lock it)."""
    donation_id = parse_id(metadata.get("donation_id"))
    if metadata.get("kind") != DONATION or donation_id is None:
        return None
    return _locked(Donation, donation_id)


def _linked(payment_intent_id: str, invoice_of: dict[str, str]) -> bool:
    """Whether the payment a payment intent made is in the ledger under it; links the invoice
    row read for it first (what the ledger's origin resolver would do, without asking Stripe)."""
    invoice_id = invoice_of.get(payment_intent_id)
    if invoice_id:
        entry = db.session.scalar(
            select(LedgerEntry).where(LedgerEntry.stripe_object_id == invoice_id)
        )
        if entry is not None and entry.payment_intent_id is None:
            entry.payment_intent_id = payment_intent_id
            db.session.flush()
    return (
        db.session.scalar(
            select(LedgerEntry.id)
            .where(
                LedgerEntry.payment_intent_id == payment_intent_id,
                LedgerEntry.kind.not_in(NEGATIVE_KINDS),
            )
            .limit(1)
        )
        is not None
    )


@contextmanager
def _new_rows(*criteria) -> Iterator[list[LedgerEntry]]:
    """The ledger rows matching `criteria` that appear inside the block."""
    query = select(LedgerEntry.id).where(*criteria)
    before = set(db.session.scalars(query))
    rows: list[LedgerEntry] = []
    yield rows
    new = sorted(set(db.session.scalars(query)) - before)
    rows += [db.session.get(LedgerEntry, row_id) for row_id in new]


def _added(rows: list[LedgerEntry], what: str, named: str | None = None) -> list[str]:
    """'payment pi_… of €25.00 added to the ledger', one part per new row (without the id when
    the line names that object already)."""
    return [
        f"{what}{'' if row.stripe_object_id == named else ' ' + row.stripe_object_id} of "
        f"{format_money(row.amount, row.currency)} added to the ledger"
        for row in rows
    ]


def _state(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a row, to compare before and after."""
    return {name: getattr(row, name) for name in names}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """'status 'pending' → 'paid'' for each field that changed."""
    return [
        f"{name} {_show(name, before[name])} → {_show(name, after[name])}"
        for name in before
        if before[name] != after[name]
    ]


def _show(name: str, value: Any) -> str:
    """A field's value for a line of the report."""
    if name in PRIVATE_FIELDS:
        return "set" if value else "none"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return repr(value)
