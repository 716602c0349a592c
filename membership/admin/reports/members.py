"""Memberships by status and plan, their monthly movement, and failed payments in grace."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, func, or_, select

from membership.accounts.models import User
from membership.admin.reports.periods import (
    NEVER_PAID,
    Period,
    by_month,
    month_of,
    percent,
    within,
)
from membership.billing.models import Membership, Plan, StripeEvent
from membership.extensions import db
from membership.timeutil import utcnow

# --- members by status and plan -----------------------------------------------------------------


@dataclass
class StatusRow:
    """Memberships in one status on one plan."""

    status: str
    plan: str
    count: int


@dataclass
class StatusReport:
    """Memberships now, by status and plan."""

    rows: list[StatusRow]
    by_status: dict[str, int]
    total: int


def members_by_status() -> StatusReport:
    """How many memberships are in each status, per plan, now."""
    plan_name = func.coalesce(Plan.name, "—")
    result = db.session.execute(
        select(Membership.status, plan_name, func.count(Membership.id))
        .outerjoin(Plan, Plan.id == Membership.plan_id)
        .group_by(Membership.status, plan_name)
        .order_by(Membership.status, plan_name)
    ).all()
    rows = [StatusRow(status, plan, count) for status, plan, count in result]
    by_status: dict[str, int] = defaultdict(int)
    for row in rows:
        by_status[row.status] += row.count
    return StatusReport(rows, dict(by_status), sum(by_status.values()))


# --- new, cancelled, churned ----------------------------------------------------------------------


@dataclass
class MovementRow:
    """One month of membership movement."""

    month: str
    live_at_start: int
    new: int
    cancelled: int
    churned: int
    live_at_end: int
    churn_rate: Decimal | None


def _count_by_month(column, period: Period) -> dict[str, int]:
    """Memberships (ever paid) whose `column` falls in each month of the period."""
    month = month_of(column)
    return by_month(
        db.session.execute(
            select(month, func.count(Membership.id))
            .where(within(column, period), Membership.status.not_in(NEVER_PAID))
            .group_by(month)
        ).all()
    )


def movement(period: Period) -> list[MovementRow]:
    """New, cancelled and churned memberships per month, and the churn rate.

    churn rate = memberships that ended in the month / memberships live at its start.
    """
    base = db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.status.not_in(NEVER_PAID),
            Membership.started_at < period.start_at,
            or_(Membership.ended_at.is_(None), Membership.ended_at >= period.start_at),
        )
    )
    new = _count_by_month(Membership.started_at, period)
    cancelled = _count_by_month(Membership.canceled_at, period)
    churned = _count_by_month(Membership.ended_at, period)
    rows, live = [], base or 0
    for month in period.months():
        end = live + new.get(month, 0) - churned.get(month, 0)
        rows.append(
            MovementRow(month, live, new.get(month, 0), cancelled.get(month, 0),
                        churned.get(month, 0), end, percent(churned.get(month, 0), live))
        )  # fmt: skip
        live = end
    return rows


# --- failed payments and grace --------------------------------------------------------------------


@dataclass
class GraceRow:
    """A member whose renewal failed."""

    user_id: int
    email: str
    plan: str
    amount: int
    currency: str
    past_due_since: datetime
    grace_ends: datetime


@dataclass
class GraceReport:
    """Failed renewals per month, and who is past due now."""

    failed_by_month: list[tuple[str, int]]
    in_grace: list[GraceRow]
    in_grace_count: int
    beyond_grace_count: int


def grace(now: datetime | None = None, period: Period | None = None, limit: int = 200):
    """Failed payments per month (Stripe's invoice.payment_failed events) and members in grace.

    In grace = past due, and past_due_since + GRACE_DAYS is still ahead.
    """
    now = now or utcnow()
    days = timedelta(days=int(current_app.config.get("GRACE_DAYS", 7)))
    cutoff = now - days
    past_due = Membership.status == "past_due"
    in_grace = and_(past_due, Membership.past_due_since > cutoff)
    counts = db.session.execute(
        select(
            func.count(Membership.id).filter(in_grace),
            func.count(Membership.id).filter(past_due, ~in_grace),
        )
    ).one()
    rows = [
        GraceRow(uid, email, plan or "—", amount, currency, since, since + days)
        for uid, email, plan, amount, currency, since in db.session.execute(
            select(User.id, User.email, Plan.name, Membership.amount, Membership.currency,
                   Membership.past_due_since)
            .join(User, User.id == Membership.user_id)
            .outerjoin(Plan, Plan.id == Membership.plan_id)
            .where(in_grace)
            .order_by(Membership.past_due_since)
            .limit(limit)
        ).all()
    ]  # fmt: skip
    failed: list[tuple[str, int]] = []
    if period is not None:
        month = month_of(StripeEvent.created)
        failures = by_month(
            db.session.execute(
                select(month, func.count(StripeEvent.id))
                .where(StripeEvent.type == "invoice.payment_failed",
                       within(StripeEvent.created, period))
                .group_by(month)
            ).all()
        )  # fmt: skip
        failed = [(m, failures.get(m, 0)) for m in period.months()]
    return GraceReport(failed, rows, counts[0] or 0, counts[1] or 0)
