"""The mails a membership's changes send, each once per cause: welcome, receipt, cancellation
confirmed, ended.

A cause is a change of the mirrored membership that sync_subscription observes while it holds
the membership's row lock, so a repeated or reordered event (which finds the mirror already in
that state) causes nothing; the dedupe keys make it so across processes too.
"""

from __future__ import annotations

from sqlalchemy import func, select

from membership.billing.models import Membership
from membership.billing.stripe_objects import Invoice, Subscription
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.mail import MailJob, date, host, money, queue_mail

LIVE = ("active", "trialing")
# Why Stripe ended a subscription when the member did not ask for it.
NOT_ASKED = ("payment_failed", "payment_disputed")


def membership_changed(
    membership: Membership,
    subscription: Subscription,
    before: dict,
    duplicate: bool = False,
) -> None:
    """Mail the member about the transitions that matter (before → now); a cancelled duplicate
    has its own mail (duplicates.tell) instead."""
    user = membership.user
    plan = membership.plan.name if membership.plan else ""
    context = {"name": user.name, "plan": plan}
    previous = before.get("status")
    if membership.status in LIVE and previous not in LIVE:
        queue_mail("membership_welcome", user.email, context, locale=user.locale,
                   dedupe_key=f"welcome-{membership.stripe_subscription_id}")  # fmt: skip
    if duplicate:
        return
    scheduled = membership.is_live and membership.cancel_at_period_end
    was_live = previous in Membership.LIVE_STATUSES
    was_scheduled = was_live and bool(before.get("cancel_at_period_end"))
    if scheduled and not was_scheduled and membership.current_period_end:
        _cancelled(membership, {**context, "ends_on": date(membership.current_period_end)})
        return
    if membership.status != "canceled" or previous == "canceled":
        return
    asked_now = (
        previous is not None
        and not membership.cancel_at_period_end  # not the end of a cancellation scheduled before
        and subscription.cancellation_reason not in NOT_ASKED
    )
    if asked_now:
        ended = membership.ended_at or membership.canceled_at
        _cancelled(membership, {**context, "ended_on": date(ended) if ended else None})
        return
    queue_mail("membership_ended", user.email, context, locale=user.locale,
               dedupe_key=f"ended-{membership.stripe_subscription_id}")  # fmt: skip


def _cancelled(membership: Membership, context: dict) -> None:
    """The "cancellation confirmed" mail, once per cancellation: a resume followed by a new
    cancellation is a new one, numbered (under the row lock) after those already mailed."""
    user = membership.user
    prefix = f"membership-cancelled-{membership.stripe_subscription_id}-"
    mailed = db.session.scalar(
        select(func.count())
        .select_from(MailJob)
        .where(MailJob.dedupe_key.startswith(prefix, autoescape=True))
    )
    queue_mail("membership_cancelled", user.email, context, locale=user.locale,
               dedupe_key=f"{prefix}{mailed + 1}")  # fmt: skip


def receipt(membership: Membership, invoice: Invoice, entry: LedgerEntry) -> None:
    """The receipt of one paid membership invoice (the first and every renewal), once."""
    user = membership.user
    paid = invoice.paid_at or invoice.created
    queue_mail(
        "membership_receipt",
        user.email,
        {
            "name": user.name,
            "plan": membership.plan.name if membership.plan else "",
            "interval": membership.interval,
            "amount": money(invoice.amount_paid, invoice.currency),
            "currency": invoice.currency.upper(),
            "paid_on": date(paid),
            "receipt_number": invoice.number or f"M-{entry.id}",
            "invoice_url": invoice.hosted_invoice_url or "",
            "host": host(),
        },
        locale=user.locale,
        dedupe_key=f"membership-receipt-{invoice.id}",
    )
