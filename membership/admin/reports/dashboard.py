"""The dashboard's headline figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from membership.accounts.models import Role, User
from membership.admin.reports.members import grace
from membership.admin.reports.periods import (
    Period,
    month_start,
    within,
)
from membership.admin.reports.revenue_figures import mrr
from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import utcnow

# --- dashboard ----------------------------------------------------------------------------------


@dataclass
class Headline:
    """The dashboard's figures."""

    members: int
    staff: int
    verified: int  # members (not staff) who confirmed their e-mail address
    live: int
    in_grace: int
    mrr: dict[str, int]
    revenue_this_month: dict[str, int]


def headline(now: datetime | None = None) -> Headline:
    """Accounts by role, live memberships, MRR and this month's net revenue per currency."""
    now = now or utcnow()
    # One count per role, and how many of each confirmed their address: the dashboard's
    # "confirmed" figure is the members' own, so it is never more than the members.
    counts = {
        role: (total, confirmed)
        for role, total, confirmed in db.session.execute(
            select(User.role, func.count(User.id),
                   func.count(User.id).filter(User.verified_at.is_not(None)))
            .where(User.deleted_at.is_(None))
            .group_by(User.role)
        ).all()
    }  # fmt: skip
    roles = {role: total for role, (total, _confirmed) in counts.items()}
    verified = counts.get(Role.member, (0, 0))[1]
    live = db.session.scalar(
        select(func.count(Membership.id)).where(Membership.status.in_(Membership.LIVE_STATUSES))
    )
    this_month = Period(month_start(now.date()), now.date())
    revenue = dict(
        db.session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .where(within(LedgerEntry.occurred_at, this_month))
            .group_by(LedgerEntry.currency)
        ).all()
    )
    return Headline(
        members=roles.get(Role.member, 0),
        staff=roles.get(Role.staff, 0) + roles.get(Role.admin, 0),
        verified=verified or 0,
        live=live or 0,
        in_grace=grace(now).in_grace_count,
        mrr={row.currency: row.mrr for row in mrr(now).current},
        revenue_this_month={k: int(v) for k, v in sorted(revenue.items())},
    )
