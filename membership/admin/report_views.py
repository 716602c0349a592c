"""Staff reports: each a table and a chart, with a date filter and a CSV download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import abort, render_template, request
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.admin import charts, reports
from membership.admin.csvexport import csv_response, with_decimals
from membership.admin.forms import ReportFilter
from membership.admin.views import bp, revenue_chart
from membership.billing.labels import STATUS_WORDS, status_label
from membership.money import format_money

MAX_DAYS = 366 * 10


@dataclass
class Table:
    """A report table: raw values, money columns in minor units of `currency`, and the index
    of a column of YYYY-MM months."""

    caption: str
    header: list[str]
    rows: list[list]
    currency: str | None = None
    money: set[int] = field(default_factory=set)
    month_column: int | None = None
    numeric: set[int] = field(default_factory=set)  # columns of preformatted amounts

    def classes(self) -> list[str]:
        """Each column's class: "month", "num" (right-aligned, never wrapped), "when" (a date,
        never wrapped) or "" (text, which may wrap)."""
        out = []
        for i in range(len(self.header)):
            values = [row[i] for row in self.rows if row[i] is not None]
            if i == self.month_column:
                out.append("month")
            elif (
                i in self.money
                or i in self.numeric
                or (values and all(isinstance(v, (int, Decimal, float)) for v in values))
            ):
                out.append("num")
            elif values and all(isinstance(v, date) for v in values):
                out.append("when")
            else:
                out.append("")
        return out

    def display(self) -> list[list[str]]:
        """The rows as staff read them, written by Babel for the page's language: money,
        counts and rates, dates and months (the CSV keeps the raw values)."""
        out = []
        for row in self.rows:
            cells = []
            for i, value in enumerate(row):
                if i in self.money and self.currency and isinstance(value, int):
                    cells.append(format_money(value, self.currency))
                elif value is None:
                    cells.append("—")
                elif i == self.month_column and isinstance(value, str):
                    cells.append(reports.month_label(value))
                elif isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
                    cells.append(format_decimal(value))
                elif isinstance(value, date):
                    cells.append(format_date(value, "medium"))
                else:
                    cells.append(str(value))
            out.append(cells)
        return out


@dataclass
class Built:
    """What a report shows, and what its CSV holds."""

    tables: list[Table]
    charts: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    csv_header: list[str] = field(default_factory=list)
    csv_rows: list[list] = field(default_factory=list)
    dated: bool = True
    csv_money: list[int] = field(default_factory=list)  # columns of minor units in csv_rows
    csv_currency: int = 1  # the column of the currency of those amounts

    def csv(self) -> tuple[list[str], object]:
        """The CSV's header and rows: money as decimal amounts beside the currency, the minor
        units in extra columns at the end."""
        if not self.csv_money:
            return self.csv_header, iter(self.csv_rows)
        return with_decimals(self.csv_header, self.csv_rows, self.csv_money, self.csv_currency)


# --- the reports ----------------------------------------------------------------------------


def build_status(period: reports.Period) -> Built:
    """Members by status and plan (now)."""
    data = reports.members_by_status()
    order = {status: n for n, status in enumerate(STATUS_WORDS)}  # live first, never-paid last
    rows = sorted(data.rows, key=lambda r: (order.get(r.status, len(order)), r.status, r.plan))
    statuses = sorted(data.by_status, key=lambda s: (order.get(s, len(order)), s))
    table = Table(
        _("Memberships by status and plan"),
        [_("Status"), _("Plan"), _("Memberships")],
        [[status_label(r.status), r.plan, r.count] for r in rows],
    )
    chart = charts.bar_chart(
        [status_label(s) for s in statuses],
        [(_("Memberships"), [data.by_status[s] for s in statuses], charts.BLUE)],
        _("Memberships by status"),
        categories=True,
    )
    notes = [_("A snapshot of today. Total: %(n)s.", n=format_decimal(data.total))]
    return Built(
        [table],
        [chart],
        notes,
        ["status", "status_label", "plan", "memberships"],
        [[r.status, status_label(r.status), r.plan, r.count] for r in rows],
        dated=False,
    )


def build_movement(period: reports.Period) -> Built:
    """New, cancelled and churned memberships per month, with the churn rate."""
    rows = reports.movement(period)
    header = [
        _("Month"),
        _("Live at start"),
        _("New"),
        _("Cancelled"),
        _("Churned"),
        _("Live at end"),
        _("Churn rate (%)"),
    ]
    raw = [
        [r.month, r.live_at_start, r.new, r.cancelled, r.churned, r.live_at_end, r.churn_rate]
        for r in rows
    ]
    chart = charts.bar_chart(
        [reports.month_label(r.month) for r in rows],
        [
            (_("New"), [r.new for r in rows], charts.BLUE),
            (_("Churned"), [r.churned for r in rows], charts.RED),
        ],
        _("New and churned memberships"),
    )
    notes = [
        _(
            "Churn rate = memberships that ended in the month / memberships live at its start. "
            "Cancelled = cancellations asked for in the month (they may end later)."
        )
    ]
    csv_header = [
        "month",
        "live_at_start",
        "new",
        "cancelled",
        "churned",
        "live_at_end",
        "churn_rate_percent",
    ]
    table = Table(_("Membership movement"), header, raw, month_column=0)
    return Built([table], [chart], notes, csv_header, raw)


def build_mrr(period: reports.Period) -> Built:
    """MRR and ARR per currency, now and month by month."""
    data = reports.mrr(period=period)
    tables, chart_list, csv_rows = [], [], []
    for row in data.current:
        tables.append(
            Table(
                _("Now (%(c)s)", c=row.currency.upper()),
                [_("Paying memberships"), _("MRR"), _("ARR")],
                [[row.memberships, row.mrr, row.arr]],
                row.currency,
                {1, 2},
            )
        )
        csv_rows.append(["now", row.currency, row.memberships, row.mrr, row.arr])
    for currency, points in data.history.items():
        chart_list.append(
            charts.line_chart(
                [reports.month_label(m) for m, _v in points],
                [(_("MRR"), [v for _m, v in points], charts.BLUE)],
                _("MRR at each month's end (%(c)s)", c=currency.upper()),
                fmt=lambda v, c=currency: format_money(int(v), c),
            )
        )
        tables.append(
            Table(
                _("MRR by month (%(c)s)", c=currency.upper()),
                [_("Month"), _("MRR")],
                [[m, v] for m, v in points],
                currency,
                {1},
                month_column=0,
            )
        )
        arrs = dict(data.arr_history[currency])
        csv_rows += [[m, currency, "", v, arrs[m]] for m, v in points]
    notes = [
        _(
            "MRR counts active and past-due memberships (not trials): monthly amounts as they "
            "are, yearly amounts divided by 12. ARR = MRR x 12. The monthly history uses each "
            "membership's current amount from its start to its end."
        )
    ]
    return Built(
        tables,
        chart_list,
        notes,
        ["month", "currency", "paying_memberships", "mrr", "arr"],
        csv_rows,
        csv_money=[3, 4],
    )


def build_revenue(period: reports.Period) -> Built:
    """Revenue per month by source, per currency."""
    data = reports.revenue(period)
    header = [
        _("Month"),
        _("Memberships"),
        _("One-time gifts"),
        _("Monthly gifts"),
        _("Recorded by hand"),
        _("Refunds and disputes"),
        _("Net"),
    ]
    tables, csv_rows = [], []
    for currency, rows in data.items():
        raw = [
            [r.month, r.membership, r.gift, r.monthly_gift, r.offline, r.refunds, r.net]
            for r in rows
        ]
        tables.append(
            Table(currency.upper(), header, raw, currency, {1, 2, 3, 4, 5, 6}, month_column=0)
        )
        csv_rows += [[row[0], currency, *row[1:]] for row in raw]
    chart = revenue_chart(data)
    return Built(
        tables,
        [chart] if chart else [],
        [],
        ["month", "currency", "memberships", "gifts", "monthly_gifts", "offline", "refunds", "net"],
        csv_rows,
        csv_money=[2, 3, 4, 5, 6, 7],
    )


def build_grace(period: reports.Period) -> Built:
    """Failed payments per month and members in grace now."""
    data = reports.grace(period=period)
    failed = Table(
        _("Failed renewals per month"),
        [_("Month"), _("Failed payments")],
        [[m, n] for m, n in data.failed_by_month],
        month_column=0,
    )
    people = Table(
        _("Members in grace now"),
        [_("E-mail"), _("Plan"), _("Amount"), _("Past due since"), _("Grace ends")],
        [
            [
                r.email,
                r.plan,
                format_money(r.amount, r.currency),
                r.past_due_since.date(),
                r.grace_ends.date(),
            ]
            for r in data.in_grace
        ],
        numeric={2},
    )
    chart = charts.bar_chart(
        [reports.month_label(m) for m, _n in data.failed_by_month],
        [(_("Failed payments"), [n for _m, n in data.failed_by_month], charts.AMBER)],
        _("Failed payments per month"),
    )
    notes = [
        _(
            "In grace: %(a)d; past due beyond the grace period: %(b)d.",
            a=data.in_grace_count,
            b=data.beyond_grace_count,
        )
    ]
    csv_rows = [[m, n, "", "", "", "", ""] for m, n in data.failed_by_month] + [
        ["", "", r.email, r.past_due_since.isoformat(), r.grace_ends.isoformat(), r.currency,
         r.amount]
        for r in data.in_grace
    ]  # fmt: skip
    return Built(
        [failed, people],
        [chart],
        notes,
        ["month", "failed_payments", "in_grace_email", "past_due_since", "grace_ends", "currency",
         "amount"],
        csv_rows,
        csv_money=[6],
        csv_currency=5,
    )  # fmt: skip


def build_conversions(period: reports.Period) -> Built:
    """Memberships and fundraiser gifts started in the period, by the article they came from."""
    rows = reports.conversions(period)

    def money(values: dict[str, int]) -> str:
        return ", ".join(format_money(v, c) for c, v in sorted(values.items()))

    raw = [
        [r.ref or _("(none)"), r.joins, r.still_live, money(r.arr), r.gifts, money(r.given)]
        for r in rows
    ]
    top = rows[:12]
    chart = charts.bar_chart(
        [r.ref or "—" for r in top],
        [
            (_("Joins"), [r.joins for r in top], charts.BLUE),
            (_("Gifts"), [r.gifts for r in top], charts.ORANGE),
        ],
        _("Joins and gifts by article"),
        categories=True,
    )
    table = Table(
        _("Joins and gifts by article"),
        [_("Article (ref)"), _("Joins"), _("Still members"), _("Their ARR"), _("Gifts"),
         _("Given (net)")],
        raw,
        numeric={3, 5},
    )  # fmt: skip
    notes = [
        _(
            "Joins: memberships started in the period that ever paid. Gifts: fundraiser gifts "
            "started in the period that were paid (gifts recorded by staff have no article); "
            "given = what they brought in, less refunds and lost disputes."
        )
    ]
    csv_rows = [
        [r.ref, c, r.joins, r.still_live, r.arr.get(c, 0), r.gifts, r.given.get(c, 0)]
        for r in rows
        for c in sorted({*r.arr, *r.given})
    ]
    header = ["ref", "currency", "joins", "still_live", "arr", "gifts", "given"]
    return Built([table], [chart], notes, header, csv_rows, csv_money=[4, 6])


@dataclass(frozen=True)
class Report:
    """A report's title and builder."""

    title: object
    build: Callable[[reports.Period], Built]


REPORTS: dict[str, Report] = {
    "members": Report(_l("Members by status and plan"), build_status),
    "movement": Report(_l("New, cancelled and churned members"), build_movement),
    "mrr": Report(_l("MRR and ARR"), build_mrr),
    "revenue": Report(_l("Revenue by source"), build_revenue),
    "grace": Report(_l("Failed payments and grace"), build_grace),
    "conversions": Report(_l("Conversions by article"), build_conversions),
}


def register(
    slug: str, title, build: Callable[[reports.Period], Built], after: str | None = None
) -> None:
    """Add a report (the fundraiser report registers itself when its tables exist), at the end
    of the list or right `after` another one."""
    entries = list(REPORTS.items())
    at = next((n + 1 for n, (s, _r) in enumerate(entries) if s == after), len(entries))
    entries.insert(at, (slug, Report(title, build)))
    REPORTS.clear()
    REPORTS.update(entries)


# --- views ----------------------------------------------------------------------------------


def _period() -> tuple[ReportFilter, reports.Period | None]:
    """The period asked for, or the default; None (with form errors) when it is not valid."""
    form = ReportFilter(request.args)
    if not form.validate():
        return form, None
    start, end = form.start.data, form.end.data
    if start is None or end is None:  # the data's last 12 months fill what was not asked for
        default = reports.Period.with_data()
        start, end = start or default.start, end or default.end
    if start > end:
        form.end.errors.append(_("The end comes before the start."))
        return form, None
    if end >= date.max:  # the period's exclusive bound is the day after its end
        form.end.errors.append(_("Pick an earlier end."))
        return form, None
    if (end - start) > timedelta(days=MAX_DAYS):
        form.start.errors.append(_("Ten years at most."))
        return form, None
    if not form.start.data:
        form.start.data = start
    if not form.end.data:
        form.end.data = end
    return form, reports.Period(start, end)


@bp.route("/reports")
def reports_index():
    """The list of reports."""
    return render_template("admin/reports.html", reports=REPORTS)


def _built(slug: str):
    """The report and its figures for the requested period; an error page for a bad period."""
    entry = REPORTS.get(slug) or abort(404)
    form, period = _period()
    if period is None:
        page = render_template(
            "admin/report.html", slug=slug, report=entry, form=form, built=None, reports=REPORTS
        )
        return entry, form, period, None, (page, 400)
    return entry, form, period, entry.build(period), None


@bp.route("/reports/<slug>")
def report(slug: str):
    """One report: filter, chart, tables."""
    entry, form, _, built, error = _built(slug)
    if error:
        return error
    return render_template(
        "admin/report.html", slug=slug, report=entry, form=form, built=built, reports=REPORTS
    )


@bp.route("/reports/<slug>.csv")
def report_csv(slug: str):
    """One report as CSV."""
    _entry, _form, period, built, error = _built(slug)
    if error:
        return error
    name = f"{slug}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    header, rows = built.csv()
    return csv_response(name, header, rows)
