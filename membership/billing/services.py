"""Memberships: the catalogue in Stripe, mirroring Stripe's subscriptions, paid invoices.

Every state change comes from Stripe's own objects (re-read from the API), through the same
functions for webhooks, `stripe reconcile` and `stripe replay`: there is one way state changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from membership import attribution, audit
from membership.accounts import services as accounts
from membership.accounts.models import User
from membership.accounts.services import AccountError
from membership.billing import duplicates, notices, origins
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership, Plan, Price
from membership.billing.stripe_objects import Invoice, Subscription
from membership.database import insert_ignoring_duplicates
from membership.edge import parse_id
from membership.extensions import db
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind
from membership.perks.services import sync_membership_grants

log = logging.getLogger(__name__)

KIND = "membership"

# What other parts of billing do when a membership's mirrored state changed, or when one of its
# invoices is paid (payment recovery, billing/dunning.py): they register here, so this module
# imports none of them. Each must be idempotent: events repeat and come in any order.
AFTER_SYNC: list[Callable[[Membership], None]] = []
AFTER_PAID_INVOICE: list[Callable[[Invoice, Membership], None]] = []


# --- catalogue --------------------------------------------------------------------------------


def lookup_key(price: Price) -> str:
    """Stripe's lookup key for a price: stable across installs, new when the amount changes."""
    return f"plan:{price.plan.slug}:{price.interval}:{price.amount}:{price.currency}"


@dataclass
class SyncResult:
    """What sync_plans did."""

    products_created: int = 0
    prices_created: int = 0
    prices_linked: int = 0


def sync_price(price: Price, result: SyncResult | None = None) -> str:
    """Make sure Stripe has this price (found by lookup key, else created); returns its id."""
    result = result or SyncResult()
    plan = price.plan
    price.lookup_key = lookup_key(price)
    found = gateway.price_by_lookup_key(price.lookup_key)
    if found is not None:
        if price.stripe_price_id != found["id"]:
            result.prices_linked += 1
        price.stripe_price_id = found["id"]
        product = found.get("product")
        plan.stripe_product_id = plan.stripe_product_id or (
            product["id"] if isinstance(product, dict) else product
        )
        return price.stripe_price_id
    ensure_product(plan, result)
    price.stripe_price_id = gateway.create_price(
        plan.stripe_product_id, price.lookup_key, price.amount, price.currency, price.interval
    )
    result.prices_created += 1
    return price.stripe_price_id


def ensure_product(plan: Plan, result: SyncResult | None = None) -> str:
    """Make sure Stripe has a product for the plan; returns its id."""
    if plan.stripe_product_id:
        return plan.stripe_product_id
    key = f"plan:{plan.slug}"
    plan.stripe_product_id = gateway.find_product(key) or gateway.upsert_product(
        None, key, plan.name, plan.description
    )
    if result is not None:
        result.products_created += 1
    return plan.stripe_product_id


def sync_plans(progress=None) -> SyncResult:
    """Create or update every active plan's product and prices in Stripe, idempotently."""
    result = SyncResult()
    plans = db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.position)).all()
    for plan in progress(plans) if progress else plans:
        ensure_product(plan, result)
        gateway.upsert_product(
            plan.stripe_product_id, f"plan:{plan.slug}", plan.name, plan.description
        )
        for price in plan.prices:
            if price.active:
                sync_price(price, result)
    db.session.flush()
    return result


def lock_reader(user: User) -> None:
    """Lock the reader's row until the transaction ends (PostgreSQL; SQLite has one writer).

    Joins and membership changes of one reader take turns, in every app instance and worker;
    FOR NO KEY UPDATE, so rows that merely reference the reader are not held up.
    """
    db.session.refresh(user, ["stripe_customer_id"], with_for_update={"key_share": True})


# --- the reader's own changes ----------------------------------------------------------------


def set_cancel_at_period_end(membership: Membership, cancel: bool, actor: User) -> Membership:
    """Cancel at the end of the paid period, or resume; mirrors Stripe's answer at once."""
    subscription = gateway.set_cancel_at_period_end(membership.stripe_subscription_id, cancel)
    audit.record(
        "membership.cancel_at_period_end" if cancel else "membership.resumed",
        "user", membership.user_id, actor_id=actor.id, membership=membership.id,
    )  # fmt: skip
    return sync_subscription(subscription) or membership


def forget_customer(user: User) -> None:
    """Before an account is erased: delete its Stripe customer, which ends its subscriptions.

    Stripe keeps the charges (the ledger keeps its rows); the webhooks that follow mark the
    memberships canceled. A Stripe failure stops the deletion, so no one is charged after it.
    """
    if not user.stripe_customer_id:
        return
    try:
        gateway.delete_customer(user.stripe_customer_id)
    except gateway.PaymentProviderError as exc:
        raise AccountError("payments-unavailable") from exc
    audit.record("stripe.customer_deleted", "user", user.id, actor_id=user.id,
                 customer=user.stripe_customer_id)  # fmt: skip


accounts.BEFORE_DELETE.append(forget_customer)


# --- mirroring Stripe ---------------------------------------------------------------------------


def is_membership(subscription: Subscription) -> bool:
    """Whether a subscription is a membership (donations carry kind=donation)."""
    return subscription.metadata.get("kind", KIND) == KIND


def _owner(subscription: Subscription) -> User | None:
    """The reader a subscription belongs to: by our metadata, else by Stripe customer."""
    user_id = parse_id(subscription.metadata.get("user_id"))  # metadata is editable text
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None:
            return user
    if subscription.customer:
        return db.session.scalar(
            select(User).where(User.stripe_customer_id == subscription.customer)
        )
    return None


def _plan_for(subscription: Subscription) -> Plan | None:
    """The plan of a subscription: the one its current price belongs to.

    The price (fixed prices) or its product (pay-what-you-want prices made at Checkout) decides,
    so a plan switch in the billing portal moves the membership; the Checkout metadata names
    the plan joined, not the plan now, and is only the last resort (a price made elsewhere).
    """
    if subscription.price_id:
        price = db.session.scalar(
            select(Price).where(Price.stripe_price_id == subscription.price_id)
        )
        if price is not None:
            return price.plan
    if subscription.product_id:
        plan = db.session.scalar(
            select(Plan).where(Plan.stripe_product_id == subscription.product_id)
        )
        if plan is not None:
            return plan
    slug = subscription.metadata.get("plan")
    return db.session.scalar(select(Plan).where(Plan.slug == slug)) if slug else None


TRACKED = (
    "status", "plan_id", "stripe_price_id", "interval", "amount", "recurring_amount", "currency",
    "current_period_start", "current_period_end", "cancel_at_period_end", "canceled_at",
    "ended_at", "trial_end", "latest_invoice_paid", "past_due_since", "pause_behavior",
    "paused_from", "resumes_at",
)  # fmt: skip


def sync_subscription(subscription: Subscription) -> Membership | None:
    """Mirror a subscription into its membership and recompute perks; None when it is not ours."""
    if not is_membership(subscription):
        return None
    mirrored = db.session.execute(
        select(Membership.user_id, Membership.status).where(
            Membership.stripe_subscription_id == subscription.id
        )
    ).first()
    user = None
    if subscription.status in Membership.LIVE_STATUSES and (
        mirrored is None or mirrored.status not in Membership.LIVE_STATUSES
    ):
        # Turning live: the reader's row is locked first, then the membership's (always in
        # this order), so a reader's subscriptions turn live one at a time and a second one is
        # seen as a duplicate (cancelled and refunded before it is mirrored).
        user = db.session.get(User, mirrored.user_id) if mirrored else _owner(subscription)
        if user is not None:
            lock_reader(user)
            membership = _locked_membership(subscription.id)
            was_live = membership is not None and membership.is_live
            subscription = duplicates.settle(subscription, user, was_live, is_membership)
    # Locked: events of one subscription processed at once (several workers, or Stripe's
    # concurrent deliveries) take turns here instead of racing to create or update it.
    membership = _locked_membership(subscription.id)
    before = {name: getattr(membership, name, None) for name in TRACKED}
    if membership is None:
        user = user or _owner(subscription)
        if user is None:
            log.warning("subscription %s has no known reader; skipped", subscription.id)
            return None
        if not user.stripe_customer_id:
            user.stripe_customer_id = subscription.customer
        values = {
            "user_id": user.id,
            "stripe_subscription_id": subscription.id,
            "stripe_customer_id": subscription.customer,
            "started_at": subscription.started_at,
            "status": subscription.status,
            "currency": subscription.currency,
        }
        # A concurrent first event may create it meanwhile: then continue from its row.
        created = insert_ignoring_duplicates(Membership, "stripe_subscription_id", values)
        membership = _locked_membership(subscription.id)
        if not created:
            before = {name: getattr(membership, name, None) for name in TRACKED}
    unpaid = subscription.latest_invoice_status in ("open", "uncollectible")
    if membership.plan_id is None or membership.stripe_price_id != subscription.price_id:
        plan = _plan_for(subscription)  # new, or the price changed (a plan switch)
        if plan is not None:
            membership.plan = plan
    membership.status = subscription.status
    membership.stripe_price_id = subscription.price_id
    membership.interval = subscription.interval
    membership.amount = subscription.amount
    if subscription.recurring_amount is not None:
        membership.recurring_amount = subscription.recurring_amount
    membership.currency = subscription.currency
    membership.started_at = subscription.started_at
    membership.current_period_start = subscription.current_period_start
    membership.current_period_end = subscription.current_period_end
    membership.cancel_at_period_end = subscription.cancel_at_period_end
    membership.canceled_at = subscription.canceled_at
    membership.ended_at = subscription.ended_at
    membership.trial_end = subscription.trial_end
    membership.latest_invoice_paid = subscription.latest_invoice_status == "paid"
    membership.past_due_since = subscription.latest_invoice_created if unpaid else None
    # Staff reports: conversions by the article the reader joined from (Checkout metadata).
    membership.ref = subscription.metadata.get("ref") or membership.ref
    _mirror_pause(membership, subscription)
    db.session.flush()
    if before["status"] is None:  # its first mirror: where the member came from, once
        attribution.record_membership(membership.id, membership.user_id, subscription.metadata)
    changes = {
        name: [_plain(before[name]), _plain(getattr(membership, name))]
        for name in TRACKED
        if before[name] != getattr(membership, name)
    }
    if not changes:
        return membership  # a repeat of the state we have: nothing to recompute or tell
    audit.record("membership.synced", "user", membership.user_id,
                 membership=membership.id, changes=changes)  # fmt: skip
    sync_membership_grants(membership)
    kept = duplicates.kept_instead(subscription)
    if kept and membership.status == "canceled" and before["status"] != "canceled":
        if membership_for(kept) is None:  # its events are still on their way: mirror it now
            sync_subscription(gateway.retrieve_subscription(kept))
        duplicates.tell(membership, subscription)
    duplicate = kept is not None
    notices.membership_changed(membership, subscription, before, duplicate)
    for hook in AFTER_SYNC:
        hook(membership)
    return membership


def _mirror_pause(membership: Membership, subscription: Subscription) -> None:
    """Mirror pause_collection; the pause begins when the metadata written with it says (the
    end of the paid period), else, for a pause made in Stripe's dashboard, at the end of the
    last paid period as the subscription shows it, kept while that same pause lasts."""
    if not subscription.pause_behavior:
        membership.pause_behavior = membership.paused_from = membership.resumes_at = None
        return
    start = subscription.pause_from
    same_pause = (
        membership.pause_behavior == subscription.pause_behavior
        and membership.resumes_at == subscription.pause_resumes_at
        and membership.paused_from is not None
    )
    if start is None and same_pause:
        start = membership.paused_from
    elif start is None:
        paid = subscription.latest_invoice_status == "paid"
        start = (
            subscription.current_period_end if paid else subscription.current_period_start
        ) or subscription.started_at
    membership.pause_behavior = subscription.pause_behavior
    membership.paused_from = start
    membership.resumes_at = subscription.pause_resumes_at


def _locked_membership(subscription_id: str) -> Membership | None:
    """The membership of a subscription, locked FOR UPDATE until this transaction ends."""
    return db.session.scalar(
        select(Membership)
        .where(Membership.stripe_subscription_id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _plain(value):
    """A JSON-friendly value for the audit log."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def memberships_of(user_id: int) -> list[Membership]:
    """A reader's memberships, newest first."""
    return list(
        db.session.scalars(
            select(Membership).where(Membership.user_id == user_id).order_by(Membership.id.desc())
        )
    )


def membership_for(subscription_id: str) -> Membership | None:
    """The membership mirroring a subscription, if any."""
    return db.session.scalar(
        select(Membership).where(Membership.stripe_subscription_id == subscription_id)
    )


def is_membership_invoice(invoice: Invoice) -> bool:
    """Whether an invoice bills a membership (donations' invoices carry kind=donation)."""
    return invoice.subscription_metadata.get("kind", KIND) == KIND


def record_invoice(
    invoice: Invoice, payment_intent_id: str | None = None, membership: Membership | None = None
) -> bool:
    """Add a paid membership invoice to the ledger (once); True when the row is new.

    The payment intent that paid it is only needed to match a later refund, so it is looked up
    then (resolve_invoice_payment), not on this hot path.
    """
    if invoice.status != "paid" or invoice.amount_paid <= 0 or not invoice.subscription_id:
        return False
    if not is_membership_invoice(invoice):
        return False
    membership = membership or membership_for(invoice.subscription_id)
    if membership is None:
        membership = sync_subscription(gateway.retrieve_subscription(invoice.subscription_id))
        if membership is None:
            return False
    plan_name = membership.plan.name if membership.plan else "Membership"
    row = ledger.record(
        EntryKind.membership,
        invoice.amount_paid,
        invoice.currency,
        invoice.id,
        invoice.paid_at or invoice.created,
        user_id=membership.user_id,
        membership_id=membership.id,
        payment_intent_id=payment_intent_id,
        description=f"{plan_name} ({membership.interval})",
        receipt_url=invoice.hosted_invoice_url,
    )
    for hook in AFTER_PAID_INVOICE:
        hook(invoice, membership)
    if row is None:
        return False
    notices.receipt(membership, invoice, row)
    return True


def resolve_invoice_payment(origin: origins.Origin) -> None:
    """Origin resolver: link (or record) the membership invoice a payment intent paid.

    Stripe was read before (origins.read_origin), so no call is made under the row locks."""
    if not origin.invoice_id:
        return
    entry = ledger.entry_for(origin.invoice_id)
    if entry is not None:
        if entry.kind == EntryKind.membership:
            ledger.link_payment_intent(entry, origin.payment_intent_id)
    elif origin.invoice is not None:
        record_invoice(origin.invoice, origin.payment_intent_id)


def link_invoice_payment(origin: origins.Origin) -> None:
    """Fee resolver: note on a recorded membership invoice the payment intent that paid it, so
    its fee finds it; never records a payment (membership handlers lock the membership first)."""
    if origin.invoice_id:
        entry = ledger.entry_for(origin.invoice_id)
        if entry is not None and entry.kind == EntryKind.membership:
            ledger.link_payment_intent(entry, origin.payment_intent_id)


origins.RESOLVERS.append(resolve_invoice_payment)
origins.FEE_RESOLVERS.append(link_invoice_payment)
