"""The payment recovery funnel: failed renewals by month and what became of them.

One GROUP BY over `payment_recoveries` (billing/dunning.py keeps it, from Stripe's times):
each failed renewal invoice is counted in the month it was invoiced, and in exactly one of
recovered within the grace period, recovered later, lost, or still in grace, so the four add up
to the failures. The staff page is recovery_report.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from membership.admin import reports
from membership.billing.models import PaymentRecovery
from membership.extensions import db
from membership.timeutil import utcnow


@dataclass
class FunnelRow:
    """One month's failed renewals in one currency, and their outcomes so far."""

    month: str
    failed: int = 0
    recovered_in_grace: int = 0
    recovered_later: int = 0
    lost: int = 0
    in_grace: int = 0
    amount_failed: int = 0
    amount_recovered: int = 0
    amount_lost: int = 0

    @property
    def rate(self):
        """Recovered within grace, as a percentage of the failures (None without failures)."""
        return reports.percent(self.recovered_in_grace, self.failed)


@dataclass
class Funnel:
    """Per currency, a row for every month of the period."""

    rows: dict[str, list[FunnelRow]] = field(default_factory=dict)


def funnel(period: reports.Period, now: datetime | None = None) -> Funnel:
    """Failed renewals invoiced in each month, by outcome (as of `now`).

    recovered within grace: paid by the end of the grace period (perks never closed);
    recovered later: paid after it; lost: the membership ended or the invoice was given up
    unpaid, or the grace period is over and it is still unpaid; in grace: unpaid, grace ahead.
    """
    now = now or utcnow()
    r = PaymentRecovery
    recovered = r.status == "recovered"
    in_time = and_(recovered, r.recovered_at <= r.grace_ends_at)
    late = and_(recovered, r.recovered_at > r.grace_ends_at)
    failing = r.status == "failing"
    lost = or_(r.status == "lost", and_(failing, r.grace_ends_at <= now))
    waiting = and_(failing, r.grace_ends_at > now)
    month = reports.month_of(r.failed_at)
    result = db.session.execute(
        select(month, r.currency, func.count(r.id), func.count(r.id).filter(in_time),
               func.count(r.id).filter(late), func.count(r.id).filter(lost),
               func.count(r.id).filter(waiting), func.sum(r.amount_due),
               func.sum(r.amount_recovered), func.coalesce(func.sum(r.amount_due).filter(lost), 0))
        .where(reports.within(r.failed_at, period))
        .group_by(month, r.currency)
    ).all()  # fmt: skip
    out = Funnel()
    for m, currency, *figures in result:
        rows = out.rows.setdefault(currency, {x: FunnelRow(x) for x in period.months()})
        rows[reports.month_key(m)] = FunnelRow(reports.month_key(m), *(int(v) for v in figures))
    out.rows = {c: sorted(rows.values(), key=lambda row: row.month)
                for c, rows in sorted(out.rows.items())}  # fmt: skip
    return out
