"""The staff page of the payment recovery funnel (figures: admin/recovery.py)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.admin import charts, reports
from membership.admin.recovery import FunnelRow, funnel
from membership.admin.report_views import Built, Table, register

CSV_HEADER = ["month", "currency", "failed", "recovered_within_grace", "recovered_after_grace",
              "lost", "in_grace", "recovery_rate_percent", "amount_failed",
              "amount_recovered", "amount_lost"]  # fmt: skip


def _cells(row: FunnelRow) -> list:
    return [row.month, row.failed, row.recovered_in_grace, row.recovered_later, row.lost,
            row.in_grace, row.rate, row.amount_recovered, row.amount_lost]  # fmt: skip


def build_recovery(period: reports.Period) -> Built:
    """The funnel per currency: a stacked chart and a table of months."""
    data = funnel(period)
    header = [_("Month"), _("Failed renewals"), _("Recovered within grace"),
              _("Recovered later"), _("Lost"), _("Still in grace"),
              _("Recovered within grace (%)"), _("Amount recovered"), _("Amount lost")]  # fmt: skip
    tables, chart_list, csv_rows = [], [], []
    for currency, rows in data.rows.items():
        tables.append(
            Table(currency.upper(), header, [_cells(r) for r in rows], currency, {7, 8}, 0)
        )
        chart_list.append(
            charts.bar_chart(
                [reports.month_label(r.month) for r in rows],
                [
                    (
                        _("Recovered within grace"),
                        [r.recovered_in_grace for r in rows],
                        charts.GREEN,
                    ),
                    (_("Lost"), [r.lost for r in rows], charts.RED),
                    (_("Recovered later"), [r.recovered_later for r in rows], charts.BLUE),
                    (_("Still in grace"), [r.in_grace for r in rows], charts.AMBER),
                ],
                _("Failed renewals by outcome (%(c)s)", c=currency.upper()),
            )
        )
        csv_rows += [
            [r.month, currency, r.failed, r.recovered_in_grace, r.recovered_later, r.lost,
             r.in_grace, r.rate, r.amount_failed, r.amount_recovered, r.amount_lost]
            for r in rows
        ]  # fmt: skip
    notes = [
        _(
            "Each failed renewal counts in the month it was invoiced, and in one outcome: "
            "recovered within grace (paid before the perks closed), recovered later, lost (the "
            "membership ended unpaid, or the grace period is over and it is still unpaid) or "
            "still in grace. Amount recovered is what those invoices brought in."
        )
    ]
    return Built(tables, chart_list, notes, CSV_HEADER, csv_rows, csv_money=[8, 9, 10])


register("recovery", _l("Payment recovery"), build_recovery)
