"""Periods and months, and the SQL pieces every report shares (status sets, yearly value, rates).

Months are calendar months in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal_column, select

from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import utcnow

# Memberships whose first invoice was never paid: they never were members.
NEVER_PAID = ("incomplete", "incomplete_expired")
# Memberships that bring money in now: the base of MRR.
PAYING = ("active", "past_due")
# Memberships counted in MRR history: ever paid, and not in a free trial.
HISTORY_EXCLUDED = (*NEVER_PAID, "trialing")
SOURCES = ("membership", "gift", "monthly_gift", "offline")


# --- periods ------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """An inclusive range of days, in UTC."""

    start: date
    end: date

    @classmethod
    def default(cls, today: date | None = None, months: int = 12) -> Period:
        """The last `months` calendar months, this one included."""
        today = today or utcnow().date()
        return cls(add_months(today, -(months - 1)), today)

    @classmethod
    def with_data(cls, today: date | None = None, months: int = 12) -> Period:
        """The last `months` months of data that exists: from the newest payment or membership
        start back `months` calendar months, not before the first one (the last `months` months
        up to today when there is none). What a report shows when no period is asked for."""
        today = today or utcnow().date()
        newest, oldest = data_bounds()
        if newest is None:
            return cls.default(today, months)
        end = min(newest, today)
        start = add_months(end, -(months - 1))
        return cls(max(start, month_start(min(oldest, end))), end)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC)

    def months(self) -> list[str]:
        """Every month the period touches, as YYYY-MM."""
        out, current = [], month_start(self.start)
        while current <= self.end:
            out.append(current.strftime("%Y-%m"))
            current = add_months(current, 1)
        return out


def data_bounds() -> tuple[date | None, date | None]:
    """The days of the newest and the oldest ledger row or membership start (None, None when
    there is neither): two index lookups each."""
    found = []
    for column in (LedgerEntry.occurred_at, Membership.started_at):
        newest, oldest = db.session.execute(select(func.max(column), func.min(column))).one()
        found += [(newest, oldest)] if newest is not None else []
    if not found:
        return None, None
    return max(_day(n) for n, _ in found), min(_day(o) for _, o in found)


def _day(value) -> date:
    """The day of a timestamp as the database gives it back (text on SQLite for aggregates)."""
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def month_of(column):
    """SQL for the UTC calendar month of a timestamp column; month_key() reads what it returns.

    On PostgreSQL, date_trunc (cheaper than to_char over a million rows), with literal arguments so
    the planner matches the expression to its extended statistics; on SQLite, YYYY-MM text.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(literal_column("'month'"),
                               func.timezone(literal_column("'UTC'"), column))  # fmt: skip
    return func.strftime("%Y-%m", column)


def month_key(value) -> str:
    """YYYY-MM from what month_of() gave back (a datetime on PostgreSQL, text on SQLite)."""
    return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)


def month_label(key: str) -> str:
    """A YYYY-MM month as staff read it in their language ("Mar 2027", and so on)."""
    from babel.dates import format_skeleton
    from flask_babel import get_locale

    year, month = (int(part) for part in key.split("-"))
    return format_skeleton("yMMM", date(year, month, 1), locale=get_locale())


def by_month(rows) -> dict:
    """{month key: value} from (month, value) rows."""
    return {month_key(m): v for m, v in rows}


def within(column, period: Period):
    """SQL: the column falls inside the period."""
    return and_(column >= period.start_at, column < period.end_at)


def yearly_value():
    """SQL: what a membership charges over a year after its discounts (monthly * 12, yearly as
    is)."""
    charged = func.coalesce(Membership.recurring_amount, Membership.amount)
    return case((Membership.interval == "year", charged), else_=charged * 12)


def mrr_of(arr: int) -> int:
    """Monthly recurring revenue from annual: ARR / 12, rounded half up to a minor unit."""
    return int((Decimal(arr) / 12).quantize(Decimal(1), ROUND_HALF_UP))


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage with one decimal; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
