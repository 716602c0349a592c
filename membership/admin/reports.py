"""Staff reports: SQL aggregates grouped in the database, returned as small dataclasses.

No report loads rows one by one: each runs a handful of GROUP BY queries and finishes the sums
(running totals, rates) over a few dozen numbers in Python. Months are calendar months in UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import and_, case, func, literal_column, or_, select

from membership.accounts.models import Role, User
from membership.billing.models import Membership, Plan, StripeEvent
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign, Donation, DonationStatus, Outlet
from membership.ledger.models import REVERSING_KINDS, EntryKind, LedgerEntry
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


# --- dashboard ----------------------------------------------------------------------------------


@dataclass
class Headline:
    """The dashboard's figures."""

    members: int
    staff: int
    verified: int
    live: int
    in_grace: int
    mrr: dict[str, int]
    revenue_this_month: dict[str, int]


def headline(now: datetime | None = None) -> Headline:
    """Accounts by role, live memberships, MRR and this month's net revenue per currency."""
    now = now or utcnow()
    roles = dict(
        db.session.execute(
            select(User.role, func.count(User.id))
            .where(User.deleted_at.is_(None))
            .group_by(User.role)
        ).all()
    )
    verified = db.session.scalar(
        select(func.count(User.id)).where(User.verified_at.is_not(None), User.deleted_at.is_(None))
    )
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


# --- conversions by article -----------------------------------------------------------------------


@dataclass
class ConversionRow:
    """Joins and gifts that came from one article (ref)."""

    ref: str
    joins: int
    still_live: int
    arr: dict[str, int]
    gifts: int = 0
    given: dict[str, int] = field(default_factory=dict)


def conversions(period: Period, limit: int = 500) -> list[ConversionRow]:
    """Memberships and fundraiser gifts started in the period, by the article they came from."""
    ref = func.coalesce(Membership.ref, "")
    live = Membership.status.in_(Membership.LIVE_STATUSES)
    result = db.session.execute(
        select(ref, Membership.currency, func.count(Membership.id),
               func.count(Membership.id).filter(live), func.sum(yearly_value()))
        .where(within(Membership.started_at, period), Membership.status.not_in(NEVER_PAID))
        .group_by(ref, Membership.currency)
    ).all()  # fmt: skip
    rows: dict[str, ConversionRow] = {}
    for r, currency, joins, still, arr in result:
        row = rows.setdefault(r, ConversionRow(r, 0, 0, {}))
        row.joins += joins
        row.still_live += still
        row.arr[currency] = row.arr.get(currency, 0) + int(arr or 0)
    for r, currency, gifts, given in donation_conversions(period):
        row = rows.setdefault(r, ConversionRow(r, 0, 0, {}))
        row.gifts += gifts
        row.given[currency] = row.given.get(currency, 0) + given
    return sorted(rows.values(), key=lambda r: (-r.joins - r.gifts, r.ref))[:limit]


def donation_conversions(period: Period) -> list[tuple[str, str, int, int]]:
    """(ref, currency, gifts, net given) for online gifts started in the period that were paid."""
    ref = func.coalesce(Donation.ref, "")
    net = (
        select(LedgerEntry.donation_id, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.donation_id.is_not(None))
        .group_by(LedgerEntry.donation_id)
        .subquery()
    )
    return [
        (r, currency, int(gifts), int(given or 0))
        for r, currency, gifts, given in db.session.execute(
            select(ref, Donation.currency, func.count(Donation.id), func.sum(net.c.total))
            .outerjoin(net, net.c.donation_id == Donation.id)
            .where(within(Donation.created_at, period), Donation.offline.is_(False),
                   Donation.status != DonationStatus.pending)
            .group_by(ref, Donation.currency)
        ).all()
    ]  # fmt: skip


# --- fundraiser totals ----------------------------------------------------------------------------


@dataclass
class FundraiserRow:
    """One campaign's (or one outlet's part of its) money in the period, by source."""

    name: str
    slug: str = ""
    gifts: int = 0
    monthly_gifts: int = 0
    offline: int = 0
    refunds: int = 0
    backers: int = 0

    @property
    def net(self) -> int:
        """Card gifts, monthly gifts and offline gifts, less refunds and lost disputes."""
        return self.gifts + self.monthly_gifts + self.offline + self.refunds

    def add(self, kind, amount: int) -> None:
        """Count a ledger amount of one kind in its column."""
        column = {
            EntryKind.gift: "gifts",
            EntryKind.monthly_gift: "monthly_gifts",
            EntryKind.offline: "offline",
            EntryKind.refund: "refunds",
            EntryKind.dispute: "refunds",
            EntryKind.refund_failed: "refunds",  # nets the refund that failed
        }.get(EntryKind(kind))
        if column:
            setattr(self, column, getattr(self, column) + int(amount))


@dataclass
class FundraiserTotals:
    """A campaign's totals in the period, and each outlet's part (the public bar's split)."""

    campaign_id: int
    slug: str
    title: str
    currency: str
    total: FundraiserRow
    outlets: list[FundraiserRow]


def _outlet_backers(campaign_id: int, *criteria) -> dict[int, int]:
    """Per outlet: distinct donors whose gifts to it, or to all outlets, net above zero."""
    net = totals.net_donations(campaign_id, *criteria)
    target = or_(Donation.outlet_id.is_(None), Donation.outlet_id == Outlet.id)
    return dict(
        db.session.execute(
            select(Outlet.id, func.count(func.distinct(totals.donor_key())))
            .join(Donation, and_(Donation.campaign_id == Outlet.campaign_id, target))
            .where(Outlet.campaign_id == campaign_id, Donation.id.in_(net))
            .group_by(Outlet.id)
        ).all()
    )


def fundraiser_totals(period: Period) -> list[FundraiserTotals]:
    """Per campaign and per outlet: gifts by source, refunds, net and backers, in the period.

    The same ledger rows, split rule and backer rule as the public progress bar, so over a period
    that covers the whole campaign the figures are the bar's.
    """
    in_period = within(LedgerEntry.occurred_at, period)
    has_rows = (
        select(LedgerEntry.id).where(LedgerEntry.campaign_id == Campaign.id, in_period).exists()
    )
    overlaps = and_(Campaign.starts_at < period.end_at, Campaign.ends_at >= period.start_at)
    campaigns = db.session.scalars(
        select(Campaign).where(or_(overlaps, has_rows)).order_by(Campaign.starts_at.desc())
    ).all()
    out = []
    for campaign in campaigns:
        outlets = list(campaign.outlets)
        total = FundraiserRow(campaign.title, campaign.slug)
        for kind, amount in db.session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.campaign_id == campaign.id, in_period)
            .group_by(LedgerEntry.kind)
        ).all():
            total.add(kind, amount)
        total.backers = totals.backers(campaign.id, in_period)
        shares = totals.split_shares(
            campaign.id, [o.id for o in outlets], in_period, key=LedgerEntry.kind
        )
        backers = _outlet_backers(campaign.id, in_period)
        rows = {o.id: FundraiserRow(o.name, o.slug, backers=backers.get(o.id, 0)) for o in outlets}
        for (kind, outlet_id), amount in shares.items():
            rows[outlet_id].add(kind, amount)
        out.append(
            FundraiserTotals(campaign.id, campaign.slug, campaign.title, campaign.currency, total,
                             [rows[o.id] for o in outlets])
        )  # fmt: skip
    return out
