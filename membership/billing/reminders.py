"""Mails ahead of a charge: "your free trial ends on …" (customer.subscription.trial_will_end)
and, for yearly memberships, "your membership renews on …" (invoice.upcoming).

Each reads the membership as Stripe has it now (re-read, not the event's snapshot), so a late
event finds the trial over or the renewal cancelled and sends nothing; a dedupe key per
subscription and date makes duplicates send nothing twice. TRIAL_ENDING_MAIL and
RENEWAL_NOTICE_MAIL turn them off.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from membership.billing import services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership
from membership.billing.stripe_objects import Invoice
from membership.mail import date, money, queue_mail

# Stripe sends invoice.upcoming at most 60 days before a renewal (a setting of the account).
NOTICE_WINDOW = timedelta(days=62)


def _context(membership: Membership, amount: int, when) -> dict[str, Any]:
    user = membership.user
    return {
        "name": user.name,
        "plan": membership.plan.name if membership.plan else "",
        "amount": money(amount, membership.currency),
        "yearly": membership.interval == "year",
        "date": date(when),
        "account_url": current_app.config["BASE_URL"] + "/account",
    }


def _charged(membership: Membership) -> int:
    """What the next renewal charges after the subscription's lasting discounts."""
    return (
        membership.recurring_amount
        if membership.recurring_amount is not None
        else membership.amount
    )


def trial_ending(subscription_id: str) -> None:
    """Mail the trial's end date, once, unless the trial is over or the member cancelled (then
    nothing will be charged)."""
    if not current_app.config.get("TRIAL_ENDING_MAIL", True):
        return
    membership = services.membership_for(subscription_id)  # mirrored by subscription_changed
    if (
        membership is None
        or membership.status != "trialing"
        or membership.trial_end is None
        or membership.cancel_at_period_end
        or membership.user.deleted_at is not None
    ):
        return
    user = membership.user
    ends = membership.trial_end
    queue_mail("trial_ending", user.email, _context(membership, _charged(membership), ends),
               locale=user.locale,
               dedupe_key=f"trial-ending-{subscription_id}-{int(ends.timestamp())}")  # fmt: skip


def renewal_coming(preview: dict[str, Any], sent_at: datetime) -> None:
    """invoice.upcoming: a yearly membership that will renew is told the date and amount once
    per period (monthly members are not: twelve notices a year would be noise). An event that
    arrives after the renewal (Stripe's "days before" setting is 60 at most) finds the next
    period a year away and sends nothing."""
    if not current_app.config.get("RENEWAL_NOTICE_MAIL", True):
        return
    upcoming = Invoice.from_stripe(preview)
    subscription_id = upcoming.subscription_id
    if not subscription_id or not services.is_membership_invoice(upcoming):
        return
    mirrored = services.membership_for(subscription_id)
    if mirrored is not None and mirrored.interval != "year":
        return  # Stripe sends one before every monthly renewal: no call to Stripe for those
    membership = services.sync_subscription(gateway.retrieve_subscription(subscription_id))
    if (
        membership is None
        or membership.interval != "year"
        or membership.status != "active"
        or membership.cancel_at_period_end
        or membership.current_period_end is None
        or not sent_at <= membership.current_period_end <= sent_at + NOTICE_WINDOW
        or membership.user.deleted_at is not None
    ):
        return
    amount = upcoming.amount_due
    if "amount_due" not in preview or amount < 0 or upcoming.currency != membership.currency:
        amount = _charged(membership)  # Stripe's preview is the truth; this is its fallback
    user = membership.user
    renews = membership.current_period_end
    key = f"renewal-notice-{subscription_id}-{int(renews.timestamp())}"
    queue_mail("renewal_notice", user.email, _context(membership, amount, renews),
               locale=user.locale, dedupe_key=key)  # fmt: skip
