"""Outlet statements per period: opening balance, gifts, refunds, fees, host fee, grants and
closing balance, per currency, with the period's grants listed (HTML, CSV and PDF).

Opening and closing balances are the outlet's account (accounts.accounts) just before the
period's start and end; each line is the same query restricted to the period, so opening plus
the lines is the closing balance to the minor unit.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import Campaign, CampaignStatus, Outlet
from membership.host import accounts as acc
from membership.host.hosts import HostDetails, host_for
from membership.host.models import OutletGrant
from membership.ledger.models import LedgerEntry, LedgerFee
from membership.money import to_major

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """Not a period such as 2026-11."""


@dataclass(frozen=True)
class Period:
    """A calendar month in UTC: [start, end)."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str | None) -> Period:
        """'2026-11' as a period; PeriodError otherwise."""
        match = PERIOD.match((text or "").strip())
        if not match:
            raise PeriodError(text)
        year, month = int(match[1]), int(match[2])
        if not 2000 <= year <= 2999:
            raise PeriodError(text)
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return cls(match[0], start, end)

    @property
    def last_day(self) -> datetime:
        """The period's last day (for "1 to 30 November")."""
        return self.end - timedelta(days=1)

    @classmethod
    def current(cls, now: datetime) -> Period:
        """The month `now` is in."""
        return cls.parse(f"{now.year:04d}-{now.month:02d}")


@dataclass(frozen=True)
class Lines:
    """One currency of a statement (minor units; refunds negative, the rest as costs)."""

    currency: str
    opening: int
    gifts: int
    refunds: int  # refunds and lost disputes, net of failed refunds (≤ 0)
    fees: int
    host_fee: int
    grants: int
    closing: int

    @property
    def balanced(self) -> bool:
        """Opening plus the period's lines is the closing balance."""
        movement = self.gifts + self.refunds - self.fees - self.host_fee - self.grants
        return self.opening + movement == self.closing


@dataclass(frozen=True)
class Statement:
    """An outlet's statement for a period."""

    campaign: Campaign
    outlet: Outlet
    host: HostDetails
    period: Period
    lines: list[Lines]
    grants: list[OutletGrant]


def _between(column, period: Period) -> tuple:
    """SQL: column within the period."""
    return (column >= period.start, column < period.end)


def statement(campaign: Campaign, outlet: Outlet, period: Period) -> Statement:
    """The outlet's statement for the period."""
    ids = [o.id for o in campaign.outlets]
    opening = {
        a.currency: a for a in acc.accounts(campaign, period.start) if a.outlet.id == outlet.id
    }
    closing = {
        a.currency: a for a in acc.accounts(campaign, period.end) if a.outlet.id == outlet.id
    }
    when = _between(LedgerEntry.occurred_at, period)
    gifts = acc.gross_shares(campaign, ids, *when, LedgerEntry.reverses_id.is_(None))
    back = acc.gross_shares(campaign, ids, *when, LedgerEntry.reverses_id.is_not(None))
    fees = acc.fee_shares(campaign.id, ids, *_between(LedgerFee.occurred_at, period))
    start_day, end_day = period.start.date(), period.end.date()
    grants = acc.grant_sums(
        campaign.id, OutletGrant.paid_on >= start_day, OutletGrant.paid_on < end_day
    )
    lines = []
    for currency in sorted(set(opening) | set(closing),
                           key=lambda c: (c != campaign.currency, c)):  # fmt: skip
        own = currency == campaign.currency
        before, after = opening.get(currency), closing.get(currency)
        lines.append(Lines(
            currency=currency,
            opening=before.balance if before else 0,
            gifts=gifts.get(outlet.id, 0) if own else 0,
            refunds=back.get(outlet.id, 0) if own else 0,
            fees=fees.get((currency, outlet.id), 0),
            host_fee=(after.host_fee if after else 0) - (before.host_fee if before else 0),
            grants=grants.get((currency, outlet.id), 0),
            closing=after.balance if after else 0,
        ))  # fmt: skip
    listed = list(
        db.session.scalars(
            select(OutletGrant)
            .where(OutletGrant.outlet_id == outlet.id, OutletGrant.paid_on >= start_day,
                   OutletGrant.paid_on < end_day)
            .order_by(OutletGrant.paid_on, OutletGrant.id)
        )
    )  # fmt: skip
    return Statement(campaign, outlet, host_for(campaign), period, lines, listed)


def all_statements(period: Period) -> list[Statement]:
    """Every outlet's statement for a period, of every campaign that is not a draft."""
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.status != CampaignStatus.draft).order_by(Campaign.id)
    )
    return [statement(c, o, period) for c in campaigns for o in c.outlets]


LINE_NAMES = ("opening", "gifts", "refunds", "fees", "host_fee", "grants", "closing")


def to_csv(st: Statement) -> str:
    """The statement as CSV (amounts in major units with a dot, minor units beside them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["campaign", "outlet", "host", "period", "line", "currency", "amount",
                     "amount_minor", "date", "bank_reference", "paid_amount", "paid_currency",
                     "rate"])  # fmt: skip
    head = [st.campaign.slug, st.outlet.slug, st.host.legal_name, st.period.label]
    for lines in st.lines:
        for name in LINE_NAMES:
            value = getattr(lines, name)
            major = to_major(value, lines.currency)
            writer.writerow([*head, name, lines.currency.upper(), major, value, *[""] * 5])
    for grant in st.grants:
        paid = to_major(grant.paid_amount, grant.paid_currency) if grant.paid_amount else ""
        writer.writerow([*head, "grant" if grant.reverses_id is None else "grant_reversal",
                         grant.currency.upper(), to_major(grant.amount, grant.currency),
                         grant.amount, grant.paid_on.isoformat(), grant.bank_reference, paid,
                         (grant.paid_currency or "").upper(), grant.rate or ""])  # fmt: skip
    return out.getvalue()
