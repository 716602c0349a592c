"""The report of conversions by source: memberships by the first touch of their payment
(utm_source/medium/campaign, else the referring site), beside the one by article."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.admin import charts, reports
from membership.admin.report_views import Built, Table, register
from membership.money import format_money

CSV_HEADER = ["source", "medium", "campaign", "currency", "joins", "still_live", "arr"]


def build_sources(period: reports.Period) -> Built:
    """Joins, members still live and their ARR per source, medium and campaign."""
    rows = reports.conversions_by_source(period)

    def money(values: dict[str, int]) -> str:
        return ", ".join(format_money(v, c) for c, v in sorted(values.items()))

    def medium(value: str) -> str:
        return _("referral") if value == reports.origins.REFERRAL else value

    raw = [
        [r.source or _("(direct or unknown)"), medium(r.medium), r.campaign, r.joins, r.still_live,
         money(r.arr)]
        for r in rows
    ]  # fmt: skip
    by_source: dict[str, int] = {}
    for r in rows:
        by_source[r.source] = by_source.get(r.source, 0) + r.joins
    top = sorted(by_source.items(), key=lambda item: (-item[1], item[0]))[:12]
    chart = charts.bar_chart(
        [source or _("(direct)") for source, _n in top],
        [(_("Joins"), [n for _s, n in top], charts.BLUE)],
        _("Joins by source"),
        categories=True,
    )
    table = Table(
        _("Joins by source, medium and campaign"),
        [
            _("Source"),
            _("Medium"),
            _("Campaign tag"),
            _("Joins"),
            _("Still members"),
            _("Their ARR"),
        ],
        raw,
        numeric={5},
    )
    notes = [
        _(
            "Joins: memberships started in the period that ever paid, by the first visit that "
            "brought the reader with a utm_source (else the site that linked here, as a "
            "referral) before the payment. Direct or unknown: typed addresses, bookmarks, and "
            "members who joined before sources were recorded."
        )
    ]
    csv_rows = [
        [r.source, r.medium, r.campaign, c, r.joins, r.still_live, r.arr.get(c, 0)]
        for r in rows
        for c in sorted(r.arr)
    ]
    return Built([table], [chart], notes, CSV_HEADER, csv_rows, csv_money=[6], csv_currency=3)


register("sources", _l("Conversions by source"), build_sources, after="conversions")
