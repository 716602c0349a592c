"""The staff page of the cancellation reasons and outcomes (figures: admin/cancellations.py)."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.admin import charts, reports
from membership.admin.cancellations import (
    NO_REASON,
    comments,
    counts,
    outcome_labels,
    reason_labels,
)
from membership.admin.report_views import Built, Table, register
from membership.billing.cancellation import OUTCOMES


def _written(request, reasons: dict, outcomes: dict) -> list:
    """A row of what a member wrote: date, reason, outcome, words."""
    reason = reasons.get(request.reason or NO_REASON, request.reason)
    return [format_date(request.created_at, "medium"), reason,
            outcomes.get(request.outcome, request.outcome), request.comment]  # fmt: skip


def build_cancellations(period: reports.Period) -> Built:
    """Outcomes by month (chart and table), reasons by month, reasons by outcome, comments."""
    data = counts(period)
    months = period.months()
    outcomes, reasons = outcome_labels(), reason_labels()

    def total(month=None, outcome=None, reason=None) -> int:
        return sum(
            n
            for (m, o, r), n in data.items()
            if (month is None or m == month)
            and (outcome is None or o == outcome)
            and (reason is None or r == reason)
        )

    by_month = []
    for m in months:
        asked = total(m)
        stayed = total(m, "paused") + total(m, "kept_with_offer")
        outcome_counts = [total(m, o) for o in OUTCOMES]
        by_month.append([m, asked, *outcome_counts, reports.percent(stayed, asked)])
    tables = [
        Table(
            _("Outcomes by month"),
            [_("Month"), _("Asked to cancel"), *(outcomes[o] for o in OUTCOMES), _("Stayed (%)")],
            by_month,
            month_column=0,
        ),
        Table(
            _("Reasons by month"),
            [_("Month"), *reasons.values()],
            [[m, *(total(m, reason=code) for code in reasons)] for m in months],
            month_column=0,
        ),
        Table(
            _("Reasons and what was chosen, over the period"),
            [_("Reason"), *(outcomes[o] for o in OUTCOMES), _("Total")],
            [
                [label, *(total(outcome=o, reason=code) for o in OUTCOMES), total(reason=code)]
                for code, label in reasons.items()
            ],
        ),
        Table(
            _("What members wrote (newest first)"),
            [_("Date"), _("Reason"), _("Outcome"), _("Their words")],
            [_written(c, reasons, outcomes) for c in comments(period)],
        ),
    ]
    chart = charts.bar_chart(
        [reports.month_label(m) for m in months],
        [(outcomes[o], [total(m, o) for m in months]) for o in OUTCOMES],
        _("Requests to cancel by outcome"),
    )
    notes = [
        _(
            "Each choice made on the cancel page counts in the month it was made, once: "
            "cancelled (at the end of the paid period), paused (for 1 to 3 months) or kept with "
            "the retention offer. Stayed = paused or kept, out of all requests. Readers who "
            "opened the page and went back are not counted."
        )
    ]
    csv_rows = [[m, o, r, n] for (m, o, r), n in sorted(data.items())]
    return Built(tables, [chart], notes, ["month", "outcome", "reason", "requests"], csv_rows)


register("cancellations", _l("Cancellation reasons and outcomes"), build_cancellations)
