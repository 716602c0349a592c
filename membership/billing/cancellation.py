"""A cancellation that listens: the reason a reader gives, a pause instead (Stripe's
pause_collection), the newsroom's retention offer (a coupon), and the record of each choice.

Every choice re-reads the subscription from Stripe first (with the reader's row locked, so two
clicks take turns), refuses what the current state does not allow, asks Stripe, and mirrors its
answer through sync_subscription, as a webhook would: the events that follow find the mirror in
that state already and change nothing (perks move with the mirrored pause, perks/services.py).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from membership import audit
from membership.accounts import services as accounts
from membership.accounts.models import User
from membership.billing import services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import CancellationRequest, Membership
from membership.extensions import db

# The reasons offered on the cancel page, in this order; the code is what is stored.
REASONS = {
    "too_expensive": _l("It costs too much for me right now"),
    "not_reading": _l("I don't read enough to make it worthwhile"),
    "journalism": _l("I'm not happy with the journalism"),
    "break": _l("I need a break for a while"),
    "payment": _l("Trouble with payments"),
    "other": _l("Something else"),
}
PAUSE_MONTHS = (1, 2, 3)
OUTCOMES = ("cancelled", "paused", "kept_with_offer")
COMMENT_MAX = 1000
# Collection resumes this long before the renewal it should charge, so that Stripe's renewal
# comes after `resumes_at` ("the time after which the subscription will resume collecting").
RESUME_MARGIN = timedelta(hours=1)


class CancellationError(Exception):
    """A choice the membership's state does not allow; str() is a code (see views)."""


@dataclass(frozen=True)
class Offer:
    """The newsroom's retention offer: percent off each payment for some months."""

    percent_off: int
    months: int

    @property
    def coupon_id(self) -> str:
        """The Stripe coupon's id: one coupon per offer, made on first use."""
        return f"retention_{self.percent_off}pct_{self.months}m"


def configured_offer() -> Offer | None:
    """The offer the settings describe (RETENTION_OFFER_PERCENT, RETENTION_OFFER_MONTHS)."""
    config = current_app.config
    percent = int(config.get("RETENTION_OFFER_PERCENT") or 0)
    if percent <= 0:
        return None
    return Offer(percent, int(config.get("RETENTION_OFFER_MONTHS") or 3))


def offer_for(membership: Membership) -> Offer | None:
    """The offer this membership may take: monthly, live and paying, not discounted already,
    and only once per membership."""
    offer = configured_offer()
    if offer is None or membership.interval != "month" or membership.status != "active":
        return None
    if membership.cancel_at_period_end or membership.is_paused:
        return None
    if membership.recurring_amount is not None and membership.recurring_amount < membership.amount:
        return None  # a coupon is on it already: ours would replace it
    taken = db.session.scalar(
        select(CancellationRequest.id).where(
            CancellationRequest.membership_id == membership.id,
            CancellationRequest.outcome == "kept_with_offer",
        )
    )
    return None if taken else offer


def add_months(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months later, clamped to the month's last day (as
    Stripe's billing cycle is)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))  # fmt: skip


def pausable(membership: Membership) -> bool:
    """Whether a pause is offered: a live monthly membership, paid up, not ending or paused.

    Yearly ones are not: Stripe would void the whole year's invoice for a pause of a month."""
    return (
        membership.status == "active"
        and membership.interval == "month"
        and not membership.cancel_at_period_end
        and not membership.pause_behavior
        and membership.current_period_end is not None
    )


def pause_window(membership: Membership, months: int) -> tuple[datetime, datetime]:
    """(from, resumes): the pause starts when the paid period ends and lasts `months` renewals."""
    start = membership.current_period_end
    return start, add_months(start, months) - RESUME_MARGIN


def _fresh(membership: Membership, user: User) -> Membership:
    """The membership as Stripe has it now, mirrored, with the reader's row locked."""
    services.lock_reader(user)
    current = services.sync_subscription(
        gateway.retrieve_subscription(membership.stripe_subscription_id)
    )
    if current is None or not current.is_live:
        raise CancellationError("ended")
    return current


def _clean(reason: str | None, comment: str | None) -> tuple[str | None, str | None]:
    """The reason code (or None) and the comment, stripped and bounded (or None)."""
    if reason and reason not in REASONS:
        raise CancellationError("reason")
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise CancellationError("comment")
    return reason or None, text or None


def _record(membership: Membership, user: User, outcome: str, reason, comment, **extra):
    """One row per choice Stripe accepted, and an audit entry."""
    request = CancellationRequest(
        user_id=user.id, membership_id=membership.id, reason=reason, comment=comment,
        outcome=outcome, **extra,
    )  # fmt: skip
    db.session.add(request)
    db.session.flush()
    audit.record(f"membership.{outcome}", "user", membership.user_id, actor_id=user.id,
                 membership=membership.id, reason=reason, request=request.id,
                 **{k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in extra.items()})  # fmt: skip
    return request


def cancel(membership: Membership, user: User, reason=None, comment=None) -> CancellationRequest:
    """Cancel at the end of the paid period, with the reader's reason."""
    reason, comment = _clean(reason, comment)
    membership = _fresh(membership, user)
    if membership.cancel_at_period_end:
        raise CancellationError("already-cancelled")
    services.set_cancel_at_period_end(membership, True, user)
    return _record(membership, user, "cancelled", reason, comment)


def pause(
    membership: Membership, user: User, months: int, reason=None, comment=None
) -> CancellationRequest:
    """Pause for 1, 2 or 3 months from the end of the paid period (invoices voided meanwhile)."""
    if months not in PAUSE_MONTHS:
        raise CancellationError("months")
    reason, comment = _clean(reason, comment)
    membership = _fresh(membership, user)
    if membership.cancel_at_period_end:
        raise CancellationError("already-cancelled")
    if membership.pause_behavior:
        raise CancellationError("already-paused")
    if not pausable(membership):
        raise CancellationError("not-pausable")
    start, resumes = pause_window(membership, months)
    services.sync_subscription(
        gateway.pause_collection(
            membership.stripe_subscription_id, int(start.timestamp()), int(resumes.timestamp())
        )
    )
    return _record(membership, user, "paused", reason, comment, pause_months=months,
                   resumes_at=resumes)  # fmt: skip


def keep_with_offer(
    membership: Membership, user: User, reason=None, comment=None
) -> CancellationRequest:
    """Stay, with the retention offer's coupon on the next months' payments."""
    reason, comment = _clean(reason, comment)
    membership = _fresh(membership, user)
    if membership.cancel_at_period_end:
        raise CancellationError("already-cancelled")
    offer = offer_for(membership)
    if offer is None:
        raise CancellationError("no-offer")
    name = f"Thank you for staying: {offer.percent_off}% off"
    coupon = gateway.ensure_coupon(offer.coupon_id, offer.percent_off, offer.months, name)
    services.sync_subscription(gateway.apply_coupon(membership.stripe_subscription_id, coupon))
    return _record(membership, user, "kept_with_offer", reason, comment, coupon_id=coupon)


def unpause(membership: Membership, user: User) -> Membership:
    """End a pause now: Stripe collects again from the next renewal; the perks open at once."""
    membership = _fresh(membership, user)
    if not membership.pause_behavior:
        raise CancellationError("not-paused")
    mirrored = services.sync_subscription(gateway.end_pause(membership.stripe_subscription_id))
    audit.record("membership.unpaused", "user", membership.user_id, actor_id=user.id,
                 membership=membership.id)  # fmt: skip
    return mirrored or membership


def requests_of(user_id: int) -> list[CancellationRequest]:
    """A reader's cancellation requests, newest first (the member file)."""
    return list(
        db.session.scalars(
            select(CancellationRequest)
            .where(CancellationRequest.user_id == user_id)
            .order_by(CancellationRequest.created_at.desc(), CancellationRequest.id.desc())
        )
    )


def forget_comments(user: User) -> None:
    """Before an account is erased: the reader's own words go (the reasons stay, counted)."""
    for request in requests_of(user.id):
        request.comment = None


accounts.BEFORE_DELETE.append(forget_comments)
