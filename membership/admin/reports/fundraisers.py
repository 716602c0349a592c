"""Fundraiser totals per campaign and outlet, by the public progress bar's rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from membership.admin.reports.periods import (
    Period,
    within,
)
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign, Donation, Outlet
from membership.ledger.models import EntryKind, LedgerEntry

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
