"""One membership per reader: a second subscription that turns live is cancelled and refunded.

Two Checkouts open in two tabs (monthly and yearly) can both be paid before either's webhook
arrives. The reader keeps the membership that was live first; the other is cancelled at once in
Stripe, what it was paid since the kept one began refunded, the reader told by mail and the
decision audited. Stripe holds the outcome (the cancelled subscription's
`cancellation_details.comment` names the one kept), so retries, replays and any order of
events end in the same state and one mail.
See docs/memberships.md, "Two Checkouts paid, one membership".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from membership import audit
from membership.accounts.models import User
from membership.audit import AuditEntry
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership
from membership.billing.stripe_objects import Subscription
from membership.extensions import db
from membership.mail import money, queue_mail
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

MARK = "duplicate of "


def several_checkouts(user_id: int | str | None) -> bool:
    """Whether the reader started more than one membership Checkout within a Checkout Session's
    lifetime (24 h): only then can two be open, or paid, at once. (Every session the app makes
    is audited as `checkout.started`; the common case, one Checkout, costs no Stripe call.)"""
    if not user_id:
        return True  # unknown reader: ask Stripe
    since = utcnow() - timedelta(hours=25)
    started = db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.target_type == "user",
            AuditEntry.target_id == str(user_id),
            AuditEntry.action == "checkout.started",
            AuditEntry.created_at >= since,
        )
    )
    return started > 1


def kept_instead(subscription: Subscription) -> str | None:
    """The subscription kept instead of this one, when this one was cancelled as a duplicate."""
    comment = subscription.cancellation_comment or ""
    return comment[len(MARK) :] if comment.startswith(MARK) else None


def settle(subscription: Subscription, user: User, was_live: bool, is_membership) -> Subscription:
    """The subscription to mirror: as it is, or cancelled (and refunded) when it is a duplicate.

    Called with the reader's row locked, so the reader's subscriptions are settled one at a time
    in every process. Only a subscription turning live here (`was_live` False) is looked at;
    Stripe is asked which of the reader's other membership subscriptions are live right now.
    """
    if was_live or subscription.status not in Membership.LIVE_STATUSES:
        return subscription
    found = _keeper(subscription, user, is_membership)
    if found is None:
        return subscription
    keeper, since = found
    log.warning("subscription %s duplicates %s of user %s: cancelled and refunded",
                subscription.id, keeper, user.id)  # fmt: skip
    # Refund first, cancel second: a failure between the two leaves a live subscription, which
    # the retry finds a duplicate again (and whose refunds it finds made already).
    refund_since(subscription.id, since)
    return gateway.cancel_subscription(subscription.id, MARK + keeper)


def _keeper(subscription: Subscription, user: User, is_membership) -> tuple[str, datetime] | None:
    """The reader's other live membership that this one duplicates, and when it started.

    One mirrored live here wins (the reader has it already); else, of those Stripe says are live
    and not yet mirrored, the oldest one that Stripe created before this one (both were paid
    before either's events came: the first stays, whichever order the events arrive in).
    """
    mirrored = db.session.execute(
        select(Membership.stripe_subscription_id, Membership.started_at).where(
            Membership.user_id == user.id,
            Membership.stripe_subscription_id != subscription.id,
            Membership.status.in_(Membership.LIVE_STATUSES),
        )
    ).first()
    if mirrored is not None:
        return mirrored[0], mirrored[1]
    if not subscription.customer or not several_checkouts(user.id):
        return None
    # Stripe lists newest first, in its own order of creation (finer than `created`, which has
    # one-second resolution: two tabs paid within a second are still told apart).
    listed = [s for s in gateway.live_subscriptions(subscription.customer) if is_membership(s)]
    ids = [s.id for s in listed]
    older = (
        listed[ids.index(subscription.id) + 1 :]
        if subscription.id in ids
        else [s for s in listed if s.started_at < subscription.started_at]
    )
    earlier = [s for s in older if s.status in Membership.LIVE_STATUSES]
    return (earlier[-1].id, earlier[-1].started_at) if earlier else None


def refund_since(subscription_id: str, since: datetime) -> int:
    """Refund what is left of each invoice of a subscription paid since the kept membership
    began (a duplicate's; a paused one resumed keeps what it paid before); the total refunded."""
    refunded = 0
    for invoice_id, payment_intent_id, paid_at in gateway.paid_invoice_payments(subscription_id):
        if paid_at is not None and paid_at < since:
            continue
        charge_id = gateway.retrieve_payment_intent(payment_intent_id).latest_charge
        if not charge_id:
            continue
        charge = gateway.retrieve_charge(charge_id)
        done = sum(r.amount for r in charge.refunds if r.status in ("succeeded", "pending"))
        left = charge.amount - done
        if left > 0:
            # Keyed by what is left: a retry of the same refund replays it, never adds one.
            gateway.refund_payment_intent(payment_intent_id, left, f"duplicate-{invoice_id}-{left}")
        refunded += max(left, 0) + done
    return refunded


def tell(membership: Membership, subscription: Subscription) -> None:
    """Mail the reader why a second membership was cancelled and refunded, and audit it; once."""
    kept = kept_instead(subscription)
    user = membership.user
    kept_membership = db.session.scalar(
        select(Membership).where(Membership.stripe_subscription_id == kept)
    )
    # Normally nothing is left to refund by now, and this reads the total; after a failure
    # between Stripe's answers and our commit, it makes sure.
    since = (
        kept_membership.started_at
        if kept_membership is not None
        else gateway.retrieve_subscription(kept).started_at
    )
    refunded = refund_since(subscription.id, since)
    context = {
        "name": user.name,
        "second": _described(membership),
        "kept": _described(kept_membership),
        "refunded": money(refunded, membership.currency),
    }
    job = queue_mail("membership_duplicate", user.email, context, locale=user.locale,
                     dedupe_key=f"duplicate-{subscription.id}")  # fmt: skip
    if job is not None:
        audit.record("membership.duplicate_cancelled", "user", user.id,
                     membership=membership.id, subscription=subscription.id, kept=kept,
                     refunded=refunded, currency=membership.currency)  # fmt: skip


def _described(membership: Membership | None) -> dict:
    """A membership as the mail names it: plan, amount (formatted in the reader's language when
    the mail is rendered) and interval."""
    if membership is None:
        return {"plan": "", "amount": "", "interval": ""}
    return {
        "plan": membership.plan.name if membership.plan else "",
        "amount": money(membership.amount, membership.currency),
        "interval": membership.interval,
    }
