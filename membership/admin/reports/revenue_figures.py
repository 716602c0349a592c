"""Recurring revenue (MRR and ARR) and revenue by source, from memberships and the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from membership.admin.reports.periods import (
    HISTORY_EXCLUDED,
    PAYING,
    Period,
    month_key,
    month_of,
    mrr_of,
    within,
    yearly_value,
)
from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import REVERSING_KINDS, EntryKind, LedgerEntry

# --- MRR and ARR --------------------------------------------------------------------------------


@dataclass
class MrrRow:
    """Recurring revenue in one currency."""

    currency: str
    memberships: int
    arr: int
    mrr: int


@dataclass
class MrrReport:
    """MRR now, and at the end of each month of the period, per currency."""

    current: list[MrrRow]
    history: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # The exact ARR behind each history point: MRR is rounded, so MRR x 12 may be off by cents.
    arr_history: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def mrr(now: datetime | None = None, period: Period | None = None) -> MrrReport:
    """MRR and ARR per currency: active and past-due memberships, yearly ones spread over 12.

    Amounts are what the subscriptions charge after coupons and promotion codes (the
    memberships' `recurring_amount`), not list prices. ARR = Σ monthly amount * 12 + Σ yearly
    amount; MRR = ARR / 12 (so a yearly plan counts one twelfth a month). The history uses each
    membership's current amount between its start and end.
    """
    current = [
        MrrRow(currency, count, int(arr), mrr_of(int(arr)))
        for currency, count, arr in db.session.execute(
            select(Membership.currency, func.count(Membership.id), func.sum(yearly_value()))
            .where(Membership.status.in_(PAYING))
            .group_by(Membership.currency)
            .order_by(Membership.currency)
        ).all()
    ]
    report = MrrReport(current)
    if period is None:
        return report
    ever = Membership.status.not_in(HISTORY_EXCLUDED)
    base = dict(
        db.session.execute(
            select(Membership.currency, func.sum(yearly_value()))
            .where(
                ever,
                Membership.started_at < period.start_at,
                or_(Membership.ended_at.is_(None), Membership.ended_at >= period.start_at),
            )
            .group_by(Membership.currency)
        ).all()
    )

    def flows(column) -> dict[tuple[str, str], int]:
        month = month_of(column)
        return {
            (month_key(m), c): int(v)
            for m, c, v in db.session.execute(
                select(month, Membership.currency, func.sum(yearly_value()))
                .where(ever, within(column, period))
                .group_by(month, Membership.currency)
            ).all()
        }

    starts, ends = flows(Membership.started_at), flows(Membership.ended_at)
    currencies = sorted({*base, *(c for _, c in starts), *(c for _, c in ends)})
    for currency in currencies:
        arr, points, arrs = int(base.get(currency) or 0), [], []
        for month in period.months():
            arr += starts.get((month, currency), 0) - ends.get((month, currency), 0)
            points.append((month, mrr_of(arr)))
            arrs.append((month, arr))
        report.history[currency] = points
        report.arr_history[currency] = arrs
    return report


# --- revenue by source ----------------------------------------------------------------------------


@dataclass
class RevenueRow:
    """One month's money in one currency, by source; refunds and lost disputes are negative."""

    month: str
    membership: int = 0
    gift: int = 0
    monthly_gift: int = 0
    offline: int = 0
    refunds: int = 0

    @property
    def net(self) -> int:
        """Everything in, less refunds and lost disputes."""
        return self.membership + self.gift + self.monthly_gift + self.offline + self.refunds


def revenue(period: Period) -> dict[str, list[RevenueRow]]:
    """Revenue per month by source, per currency, from the ledger."""
    month = month_of(LedgerEntry.occurred_at)
    result = db.session.execute(
        select(month, LedgerEntry.currency, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(within(LedgerEntry.occurred_at, period))
        .group_by(month, LedgerEntry.currency, LedgerEntry.kind)
    ).all()
    table: dict[str, dict[str, RevenueRow]] = {}
    for m, currency, kind, total in result:
        m = month_key(m)
        rows = table.setdefault(currency, {x: RevenueRow(x) for x in period.months()})
        row = rows.setdefault(m, RevenueRow(m))
        kind = EntryKind(kind)
        name = "refunds" if kind in REVERSING_KINDS else kind.value
        setattr(row, name, getattr(row, name) + int(total))
    return {c: sorted(rows.values(), key=lambda r: r.month) for c, rows in sorted(table.items())}
