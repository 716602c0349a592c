"""Why members ask to cancel, and what they chose: the cancel page's requests by month.

One GROUP BY over `cancellation_requests` (billing/cancellation.py writes one row per choice
Stripe accepted): each request counts in the month it was made, in exactly one outcome
(cancelled, paused, kept with the offer) and under one reason (or none given). The member file
lists a member's own requests (billing.cancellation.requests_of). The staff page is
cancellation_report.py.
"""

from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import func, select

from membership.admin import reports
from membership.billing.cancellation import REASONS
from membership.billing.models import CancellationRequest
from membership.extensions import db

NO_REASON = "none"
COMMENTS_SHOWN = 50


def outcome_labels() -> dict[str, str]:
    """Each outcome as staff read it."""
    return {"cancelled": _("Cancelled"), "paused": _("Paused"),
            "kept_with_offer": _("Kept with the offer")}  # fmt: skip


def reason_labels() -> dict[str, str]:
    """Each reason as the reader saw it, and "no reason given"."""
    return {**{code: str(label) for code, label in REASONS.items()},
            NO_REASON: _("No reason given")}  # fmt: skip


def counts(period: reports.Period) -> Counter:
    """(month, outcome, reason) → requests made in the period."""
    r = CancellationRequest
    month = reports.month_of(r.created_at)
    rows = db.session.execute(
        select(month, r.outcome, r.reason, func.count(r.id))
        .where(reports.within(r.created_at, period))
        .group_by(month, r.outcome, r.reason)
    ).all()
    return Counter(
        {(reports.month_key(m), o, reason or NO_REASON): int(n) for m, o, reason, n in rows}
    )


def comments(period: reports.Period) -> list[CancellationRequest]:
    """The newest requests of the period that carry the reader's own words."""
    r = CancellationRequest
    return list(
        db.session.scalars(
            select(r)
            .where(reports.within(r.created_at, period), r.comment.is_not(None))
            .order_by(r.created_at.desc(), r.id.desc())
            .limit(COMMENTS_SHOWN)
        )
    )
