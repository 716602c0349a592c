"""Staff operations: find members, look after them, keep the catalogue, watch the webhooks.

Plain functions over the session: they flush, never commit, and write every staff action to the
audit log with the staff member as actor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from membership import audit
from membership.accounts import services as accounts
from membership.accounts.models import User
from membership.admin.models import StaffNote
from membership.audit import AuditEntry
from membership.billing import events
from membership.billing import services as billing
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership, Plan, Price, StripeEvent
from membership.extensions import db
from membership.ledger import services as ledger
from membership.ledger.models import REVERSING_KINDS, LedgerEntry
from membership.perks.models import Perk, PerkGrant
from membership.perks.services import sync_membership_grants

SEARCH_LIMIT = 50


class StaffError(Exception):
    """A staff action that cannot be done; the message is safe to show."""


# --- members ------------------------------------------------------------------------------------


def search_members(query: str, limit: int = SEARCH_LIMIT) -> list[User]:
    """People whose e-mail or name contains `query` (case-insensitive), newest first."""
    text = query.strip().casefold()[:254]
    stmt = select(User).where(User.deleted_at.is_(None))
    if text:
        stmt = stmt.where(
            or_(
                User.email.contains(text, autoescape=True),
                func.lower(User.name).contains(text, autoescape=True),
            )
        )
    return list(db.session.scalars(stmt.order_by(User.id.desc()).limit(limit)))


@dataclass
class MemberFile:
    """Everything staff see on a member's page."""

    user: User
    memberships: list[Membership]
    payments: list[LedgerEntry]
    refunded: dict[int, int]
    grants: list[PerkGrant]
    audit: list[AuditEntry]
    events: list[StripeEvent]
    notes: list[StaffNote]
    actors: dict[int, str] = field(default_factory=dict)


def member_file(user: User, limit: int = 100) -> MemberFile:
    """The member's memberships, payments, gifts, perks, audit trail, Stripe events and notes."""
    memberships = billing.memberships_of(user.id)
    payments = ledger.entries_of(user.id, limit)
    refunded: dict[int, int] = {}
    for entry in payments:
        if entry.reverses_id:  # refunds, lost disputes, and failed refunds netting them
            refunded[entry.reverses_id] = refunded.get(entry.reverses_id, 0) - entry.amount
    grants = list(
        db.session.scalars(
            select(PerkGrant)
            .where(PerkGrant.user_id == user.id)
            .order_by(PerkGrant.starts_at.desc(), PerkGrant.id.desc())
        )
    )
    trail = list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "user", AuditEntry.target_id == str(user.id))
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
    object_ids = {m.stripe_subscription_id for m in memberships}
    object_ids |= {p.stripe_object_id for p in payments}
    object_ids |= {p.payment_intent_id for p in payments if p.payment_intent_id}
    stripe_events = (
        list(
            db.session.scalars(
                select(StripeEvent)
                .where(StripeEvent.object_id.in_(sorted(object_ids)))
                .order_by(StripeEvent.created.desc())
                .limit(limit)
            )
        )
        if object_ids
        else []
    )
    notes = list(
        db.session.scalars(
            select(StaffNote)
            .where(StaffNote.user_id == user.id)
            .order_by(StaffNote.created_at.desc(), StaffNote.id.desc())
        )
    )
    actor_ids = {e.actor_id for e in trail if e.actor_id}
    actors = (
        dict(db.session.execute(select(User.id, User.email).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    return MemberFile(user, memberships, payments, refunded, grants, trail, stripe_events, notes,
                      actors)  # fmt: skip


def add_note(user: User, body: str, staff: User) -> StaffNote:
    """Keep a note about a member."""
    text = body.strip()
    if not text:
        raise StaffError(_l("The note is empty."))
    note = StaffNote(user_id=user.id, author_id=staff.id, body=text)
    db.session.add(note)
    db.session.flush()
    audit.record("staff.note_added", "user", user.id, actor_id=staff.id, note=note.id)
    return note


def resend_verification(user: User, staff: User) -> None:
    """Send the reader a fresh link that proves their address."""
    if user.is_verified:
        raise StaffError(_l("This address is already confirmed."))
    accounts.send_verification(user)
    audit.record("staff.verification_resent", "user", user.id, actor_id=staff.id)


def payment_intent_of(entry: LedgerEntry) -> str | None:
    """The payment intent behind a payment: on the row, else from Stripe's invoice_payment event.

    Membership rows may be written before their payment intent is known (it is only needed for
    refunds); Stripe's `invoice_payment.paid` event, stored like every event, names it.
    """
    if entry.payment_intent_id or entry.kind in REVERSING_KINDS:
        return entry.payment_intent_id
    if not entry.stripe_object_id.startswith("in_"):
        return None
    invoice = StripeEvent.payload["data"]["object"]["invoice"].as_string()
    for payload in db.session.scalars(
        select(StripeEvent.payload)
        .where(StripeEvent.type == "invoice_payment.paid", invoice == entry.stripe_object_id)
        .limit(5)
    ):
        payment = payload["data"]["object"].get("payment") or {}
        if payment.get("payment_intent"):
            return payment["payment_intent"]
    return None


def refundable(entry: LedgerEntry) -> int:
    """How much of a payment is left to refund, in minor units (0 when none)."""
    if entry.kind in REVERSING_KINDS or not payment_intent_of(entry):
        return 0
    taken_back = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.reverses_id == entry.id
        )
    )
    return max(entry.amount + int(taken_back or 0), 0)


def new_action_key() -> str:
    """A fresh key for one staff action, rendered into its form."""
    return secrets.token_urlsafe(16)


def refund_payment(entry: LedgerEntry, amount: int | None, staff: User, action_key: str) -> str:
    """Ask Stripe to refund a payment (all that is left when amount is None); returns the id.

    The ledger row appears when Stripe's charge.refunded webhook arrives, never here, so the
    ledger cannot tell two refunds apart in the meantime: the staff action's own key (from its
    form) does. The same form sent twice is one refund; two forms are two.
    """
    left = refundable(entry)
    if left <= 0:
        raise StaffError(_l("Nothing is left to refund on this payment."))
    if amount is not None and not 0 < amount <= left:
        raise StaffError(_l("The amount is more than what is left to refund."))
    key = f"admin-refund-{entry.id}-{action_key}-{amount or 'rest'}"
    try:
        refund_id = gateway.refund_payment_intent(payment_intent_of(entry), amount, key)
    except gateway.PaymentProviderUnreachable:
        raise  # the 503 page; trying again reuses the key, so no refund is made twice
    except gateway.PaymentProviderError as exc:
        raise StaffError(_l("Stripe refused the refund: %(error)s", error=str(exc))) from exc
    audit.record(
        "payment.refund_requested", "user", entry.user_id or 0, actor_id=staff.id,
        payment=entry.stripe_object_id, amount=amount if amount is not None else left,
        currency=entry.currency, refund=refund_id,
    )  # fmt: skip
    return refund_id


# --- catalogue ------------------------------------------------------------------------------


@dataclass
class PlanData:
    """What the plan form says, already in minor units."""

    slug: str
    name: str
    description: str
    currency: str
    position: int
    active: bool
    pay_what_you_want: bool
    minimum_amount: int
    trial_days: int
    monthly: int | None
    yearly: int | None
    perk_ids: list[int]


def slug_taken(model, slug: str, own_id: int | None) -> bool:
    """Whether another row of `model` already uses `slug`."""
    stmt = select(model.id).where(model.slug == slug)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return db.session.scalar(stmt) is not None


def _set_price(plan: Plan, interval: str, amount: int | None) -> str | None:
    """Give the plan `amount` per interval; a changed amount is a new Price (Stripe's are fixed)."""
    current = plan.price_for(interval)
    if current is not None and amount == current.amount and current.currency == plan.currency:
        return None
    if current is not None:
        current.active = False
    if amount is None:
        return f"{interval}: removed" if current is not None else None
    key = f"plan:{plan.slug}:{interval}:{amount}:{plan.currency}"
    price = db.session.scalar(select(Price).where(Price.lookup_key == key))
    if price is None:
        price = Price(plan=plan, interval=interval, amount=amount, currency=plan.currency,
                      lookup_key=key)  # fmt: skip
        db.session.add(price)
    price.active = True  # going back to an earlier amount reuses its Stripe price
    return f"{interval}: {current.amount if current else None} → {amount}"


def save_plan(plan: Plan | None, data: PlanData, staff: User) -> Plan:
    """Create or change a plan; returns it."""
    if slug_taken(Plan, data.slug, plan.id if plan else None):
        raise StaffError(_l("Another plan has this slug."))
    if data.pay_what_you_want and data.minimum_amount <= 0:
        raise StaffError(_l("A pay-what-you-want plan needs a minimum."))
    if not data.pay_what_you_want and data.monthly is None and data.yearly is None:
        raise StaffError(_l("Give the plan a monthly or a yearly price."))
    created = plan is None
    if plan is None:
        plan = Plan(slug=data.slug, currency=data.currency)
        db.session.add(plan)
    if not created and plan.slug != data.slug:
        raise StaffError(_l("A plan's slug cannot change: Stripe knows its prices by it."))
    plan.name, plan.description = data.name, data.description
    plan.currency, plan.position, plan.active = data.currency, data.position, data.active
    plan.pay_what_you_want = data.pay_what_you_want
    plan.minimum_amount = data.minimum_amount if data.pay_what_you_want else 0
    plan.trial_days = data.trial_days
    plan.perks = (
        list(db.session.scalars(select(Perk).where(Perk.id.in_(data.perk_ids))))
        if (data.perk_ids)
        else []
    )
    db.session.flush()
    changes = [
        change
        for interval, amount in (("month", data.monthly), ("year", data.yearly))
        if (change := _set_price(plan, interval, None if data.pay_what_you_want else amount))
    ]
    db.session.flush()
    db.session.refresh(plan, ["prices"])
    if not created:
        # Members of the plan get (or lose) the perks it now carries.
        for membership in db.session.scalars(
            select(Membership).where(Membership.plan_id == plan.id)
        ):
            sync_membership_grants(membership)
    audit.record("plan.created" if created else "plan.changed", "plan", plan.id,
                 actor_id=staff.id, slug=plan.slug, prices=changes)  # fmt: skip
    return plan


@dataclass
class PerkData:
    """What the perk form says."""

    slug: str
    name: str
    description: str
    position: int
    active: bool


def save_perk(perk: Perk | None, data: PerkData, staff: User) -> Perk:
    """Create or change a perk; returns it."""
    if slug_taken(Perk, data.slug, perk.id if perk else None):
        raise StaffError(_l("Another perk has this slug."))
    created = perk is None
    if perk is None:
        perk = Perk(slug=data.slug)
        db.session.add(perk)
    if not created and perk.slug != data.slug:
        raise StaffError(_l("A perk's slug cannot change: the CMS's access rules name it."))
    perk.name, perk.description = data.name, data.description
    perk.position, perk.active = data.position, data.active
    db.session.flush()
    audit.record("perk.created" if created else "perk.changed", "perk", perk.id,
                 actor_id=staff.id, slug=perk.slug)  # fmt: skip
    return perk


def sync_catalogue(staff: User):
    """Push the active plans and prices to Stripe (idempotent); returns the SyncResult."""
    try:
        result = billing.sync_plans()
    except gateway.PaymentProviderError as exc:
        raise StaffError(_l("Stripe did not answer: %(error)s", error=str(exc))) from exc
    audit.record("catalogue.synced", "stripe", "catalogue", actor_id=staff.id,
                 products_created=result.products_created,
                 prices_created=result.prices_created,
                 prices_linked=result.prices_linked)  # fmt: skip
    return result


# --- webhooks -------------------------------------------------------------------------------


@dataclass
class WebhookHealth:
    """Events by status, the failed ones, the newest event and the last reconciliation."""

    by_status: dict[str, int]
    failed: list[StripeEvent]
    last_received: datetime | None
    last_reconciliation: AuditEntry | None


def webhook_health(limit: int = 100) -> WebhookHealth:
    """How Stripe's deliveries are faring."""
    by_status = dict(
        db.session.execute(
            select(StripeEvent.status, func.count()).group_by(StripeEvent.status)
        ).all()
    )
    failed = list(
        db.session.scalars(
            select(StripeEvent)
            .where(StripeEvent.status == "failed")
            .order_by(StripeEvent.received_at.desc())
            .limit(limit)
        )
    )
    last = db.session.scalar(select(func.max(StripeEvent.received_at)))
    reconciliation = db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "stripe.reconciled")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    return WebhookHealth(by_status, failed, last, reconciliation)


def replay_event(stored: StripeEvent, staff: User) -> Any:
    """Run a stored event's handlers again (they are idempotent); returns the outcome."""
    outcome = events.process(stored)
    audit.record("stripe.event_replayed", "stripe_event", stored.id, actor_id=staff.id,
                 type=stored.type, outcome=outcome.status)  # fmt: skip
    return outcome


# --- member list export ----------------------------------------------------------------------

MEMBER_CSV_HEADER = [
    "id", "email", "name", "role", "verified", "created_at", "membership_status", "plan",
    "interval", "amount", "currency", "started_at", "ended_at", "ref",
]  # fmt: skip


def member_rows(batch: int = 1000):
    """Every account with its newest membership, streamed from a server-side cursor."""
    newest = (
        select(func.max(Membership.id))
        .where(Membership.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    stmt = (
        select(
            User.id, User.email, User.name, User.role, User.verified_at, User.created_at,
            Membership.status, Plan.slug, Membership.interval, Membership.amount,
            Membership.currency, Membership.started_at, Membership.ended_at, Membership.ref,
        )
        .outerjoin(Membership, Membership.id == newest)
        .outerjoin(Plan, Plan.id == Membership.plan_id)
        .where(User.deleted_at.is_(None))
        .order_by(User.id)
    )  # fmt: skip
    for row in db.session.execute(stmt.execution_options(yield_per=batch)):
        yield [
            row[0], row[1], row[2], row[3].value, "yes" if row[4] else "no", _iso(row[5]),
            row[6] or "", row[7] or "", row[8] or "", row[9] if row[6] else "", row[10] or "",
            _iso(row[11]), _iso(row[12]), row[13] or "",
        ]  # fmt: skip


def _iso(value: datetime | None) -> str:
    """ISO 8601 text, empty for none."""
    return value.isoformat() if value else ""
