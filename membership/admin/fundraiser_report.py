"""The fundraiser report: totals per campaign and per outlet, as the public bar counts them."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.admin import charts, reports
from membership.admin.report_views import Built, Table, register
from membership.money import format_money

CSV_HEADER = ["campaign", "currency", "outlet", "card_gifts", "monthly_gifts", "offline",
              "refunds_disputes", "net", "backers"]  # fmt: skip


def _cells(row: reports.FundraiserRow) -> list:
    """A row's figures in the table's column order."""
    return [row.gifts, row.monthly_gifts, row.offline, row.refunds, row.net, row.backers]


def build_fundraisers(period: reports.Period) -> Built:
    """Per campaign, then per outlet: card, monthly and offline gifts, refunds, net, backers."""
    header = [
        _("Outlet"),
        _("Card gifts"),
        _("Monthly gifts"),
        _("Offline (recorded by staff)"),
        _("Refunds and lost disputes"),
        _("Net"),
        _("Backers"),
    ]
    tables, chart_list, csv_rows = [], [], []
    for campaign in reports.fundraiser_totals(period):
        rows = [[_("All outlets (campaign total)"), *_cells(campaign.total)]]
        rows += [[o.name, *_cells(o)] for o in campaign.outlets]
        caption = _("%(title)s (%(currency)s)", title=campaign.title,
                    currency=campaign.currency.upper())  # fmt: skip
        tables.append(Table(caption, header, rows, campaign.currency, {1, 2, 3, 4, 5}))
        csv_rows.append([campaign.slug, campaign.currency, "", *_cells(campaign.total)])
        csv_rows += [
            [campaign.slug, campaign.currency, o.slug, *_cells(o)] for o in campaign.outlets
        ]
        if campaign.outlets:
            chart_list.append(
                charts.bar_chart(
                    [o.name for o in campaign.outlets],
                    [
                        (_("Card gifts"), [o.gifts for o in campaign.outlets], charts.ORANGE),
                        (
                            _("Monthly gifts"),
                            [o.monthly_gifts for o in campaign.outlets],
                            charts.GREEN,
                        ),
                        (_("Offline"), [o.offline for o in campaign.outlets], charts.VIOLET),
                    ],
                    _("%(title)s: gifts per outlet", title=campaign.title),
                    fmt=lambda v, c=campaign.currency: format_money(int(v), c),
                    categories=True,
                )
            )
    notes = [
        _(
            "Counted from the ledger rows of each campaign dated in the period, with the public "
            "progress bar's rules: a gift to all outlets is shared equally (the cents left over go "
            "one each to the first outlets), refunds and lost disputes are taken back the same "
            "way, and backers are donors whose gifts net above zero. Over a period covering the "
            "whole campaign, net and backers are the figures on the public bar."
        )
    ]
    return Built(tables, chart_list, notes, CSV_HEADER, csv_rows, csv_money=[3, 4, 5, 6, 7])


register("fundraisers", _l("Fundraiser totals per campaign and outlet"), build_fundraisers)
