"""Where members and gifts come from: conversions by the article they came from, and by the
source of their first touch (utm_source/medium/campaign, else the referring site)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from membership.admin.reports.periods import (
    NEVER_PAID,
    Period,
    within,
    yearly_value,
)
from membership.attribution import Attribution
from membership.billing.models import Membership
from membership.extensions import db
from membership.fundraisers.models import Donation, DonationStatus
from membership.ledger.models import LedgerEntry

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


# --- conversions by source ------------------------------------------------------------------------


@dataclass
class SourceRow:
    """Joins whose first touch came from one source, medium and campaign."""

    source: str  # utm_source, else the referring site's host, else "" (direct or unknown)
    medium: str  # utm_medium; "referral" for a referring site without utm tags
    campaign: str
    joins: int = 0
    still_live: int = 0
    arr: dict[str, int] = field(default_factory=dict)


REFERRAL = "referral"


def conversions_by_source(period: Period, limit: int = 500) -> list[SourceRow]:
    """Memberships started in the period that ever paid, by the first touch of their payment."""
    live = Membership.status.in_(Membership.LIVE_STATUSES)
    result = db.session.execute(
        select(Attribution.source, Attribution.medium, Attribution.campaign, Attribution.referrer,
               Membership.currency, func.count(Membership.id),
               func.count(Membership.id).filter(live), func.sum(yearly_value()))
        .outerjoin(Attribution, Attribution.membership_id == Membership.id)
        .where(within(Membership.started_at, period), Membership.status.not_in(NEVER_PAID))
        .group_by(Attribution.source, Attribution.medium, Attribution.campaign,
                  Attribution.referrer, Membership.currency)
    ).all()  # fmt: skip
    rows: dict[tuple[str, str, str], SourceRow] = {}
    for source, medium, campaign, referrer, currency, joins, still, arr in result:
        if source:
            key = (source, medium or "", campaign or "")
        elif referrer:
            key = (referrer, REFERRAL, campaign or "")
        else:
            key = ("", medium or "", campaign or "")
        row = rows.setdefault(key, SourceRow(*key))
        row.joins += joins
        row.still_live += still
        row.arr[currency] = row.arr.get(currency, 0) + int(arr or 0)
    ordered = sorted(rows.values(), key=lambda r: (-r.joins, r.source, r.medium, r.campaign))
    return ordered[:limit]
