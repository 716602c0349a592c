"""Staff reports: SQL aggregates grouped in the database, returned as small dataclasses.

No report loads rows one by one: each runs a handful of GROUP BY queries and finishes the sums
(running totals, rates) over a few dozen numbers in Python. Months are calendar months in UTC.

One module per job: `periods` (periods, months, shared SQL pieces), `dashboard` (headline figures),
`members` (by status, movement, grace), `revenue_figures` (MRR, ARR, revenue by source), `origins`
(conversions by article and by source), `fundraisers` (campaign and outlet totals). Everything is
re-exported here, so `from membership.admin import reports; reports.mrr(...)` reads as before.
"""

from membership.admin.reports.dashboard import Headline, headline
from membership.admin.reports.fundraisers import FundraiserRow, FundraiserTotals, fundraiser_totals
from membership.admin.reports.members import (
    GraceReport,
    GraceRow,
    MovementRow,
    StatusReport,
    StatusRow,
    grace,
    members_by_status,
    movement,
)
from membership.admin.reports.origins import (
    ConversionRow,
    SourceRow,
    conversions,
    conversions_by_source,
    donation_conversions,
)
from membership.admin.reports.periods import (
    HISTORY_EXCLUDED,
    NEVER_PAID,
    PAYING,
    SOURCES,
    Period,
    add_months,
    by_month,
    month_key,
    month_label,
    month_of,
    month_start,
    mrr_of,
    percent,
    within,
    yearly_value,
)
from membership.admin.reports.revenue_figures import MrrReport, MrrRow, RevenueRow, mrr, revenue

__all__ = [
    "HISTORY_EXCLUDED",
    "NEVER_PAID",
    "PAYING",
    "SOURCES",
    "ConversionRow",
    "FundraiserRow",
    "FundraiserTotals",
    "GraceReport",
    "GraceRow",
    "Headline",
    "MovementRow",
    "MrrReport",
    "MrrRow",
    "Period",
    "RevenueRow",
    "SourceRow",
    "StatusReport",
    "StatusRow",
    "add_months",
    "by_month",
    "conversions",
    "conversions_by_source",
    "donation_conversions",
    "fundraiser_totals",
    "grace",
    "headline",
    "members_by_status",
    "month_key",
    "month_label",
    "month_of",
    "month_start",
    "movement",
    "mrr",
    "mrr_of",
    "percent",
    "revenue",
    "within",
    "yearly_value",
]
