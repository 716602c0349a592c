"""Progress: the campaign's figures (raised, backers, each outlet's share) as queries over the
ledger, and the versioned snapshot the progress API, the page and the widget serve."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import String, case, cast, func, select, update

from membership.extensions import db
from membership.fundraisers.models import Campaign, Donation
from membership.fundraisers.rewards import end_rewards
from membership.ledger import services as ledger
from membership.ledger.models import LedgerEntry


def bump_version(campaign_id: int) -> None:
    """A change the public figures show: a new cache key and ETag for this campaign."""
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(totals_version=Campaign.totals_version + 1)
        .execution_options(synchronize_session=False)
    )


def _on_new_entry(entry: LedgerEntry) -> None:
    """Ledger hook: every new row of a campaign bumps its version; a refund or lost dispute of a
    gift ends the rewards it no longer earns (and a failed refund gives them back)."""
    if entry.campaign_id is not None:
        bump_version(entry.campaign_id)
    if entry.donation_id is not None and entry.reverses_id is not None:
        donation = db.session.get(Donation, entry.donation_id)
        if donation is not None:
            end_rewards(donation)


ledger.ON_NEW_ENTRY.append(_on_new_entry)


def split_shares(
    campaign_id: int, outlet_ids: list[int], *criteria, key=None
) -> dict[tuple[Any, int], int]:
    """Each outlet's part of the campaign's ledger rows matching `criteria`, per value of `key`."""
    # A row with an outlet counts for that outlet. A row without one (a split gift, or its refund)
    # is shared equally among the campaign's outlets in display order: |amount| // N each, and the
    # |amount| % N units left over go one each to the first outlets, with the row's sign. A full
    # refund therefore takes back exactly what its gift gave, and the shares add up to the total.
    # Both the public progress and the staff report read their outlet figures from here.
    keys = [key] if key is not None else []
    known = set(outlet_ids)
    where = (LedgerEntry.campaign_id == campaign_id, *criteria)
    shares: dict[tuple[Any, int], int] = {}
    direct = db.session.execute(
        select(*keys, LedgerEntry.outlet_id, func.sum(LedgerEntry.amount))
        .where(*where, LedgerEntry.outlet_id.is_not(None))
        .group_by(*keys, LedgerEntry.outlet_id)
    ).all()
    for *group, outlet_id, amount in direct:
        if outlet_id in known:
            slot = (group[0] if group else None, outlet_id)
            shares[slot] = shares.get(slot, 0) + int(amount)
    n = len(outlet_ids)
    if n == 0:
        return shares
    magnitude = func.abs(LedgerEntry.amount)
    positive = case((LedgerEntry.amount > 0, 1), else_=0)
    remainder = magnitude % n
    groups = db.session.execute(
        select(*keys, positive, remainder, func.sum(magnitude // n), func.count())
        .where(*where, LedgerEntry.outlet_id.is_(None))
        .group_by(*keys, positive, remainder)
    ).all()
    for *group, is_positive, rest, quotient_sum, count in groups:
        sign = 1 if is_positive else -1
        for index, outlet_id in enumerate(outlet_ids):
            slot = (group[0] if group else None, outlet_id)
            part = sign * (int(quotient_sum) + (int(count) if index < rest else 0))
            shares[slot] = shares.get(slot, 0) + part
    return shares


def outlet_shares(campaign_id: int, outlet_ids: list[int]) -> dict[int, int]:
    """Each outlet's part of the campaign's money, exact to the minor unit (see split_shares)."""
    shares = split_shares(campaign_id, outlet_ids)
    return {outlet_id: shares.get((None, outlet_id), 0) for outlet_id in outlet_ids}


def raised(campaign_id: int) -> int:
    """Money raised: gifts, monthly payments and offline gifts, less refunds and lost disputes."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.campaign_id == campaign_id
            )
        )
    )


def donor_key():
    """SQL: who a donation is from: the account, else the e-mail, else the donation itself."""
    return func.coalesce(
        "u" + cast(Donation.user_id, String),
        "e" + Donation.email,
        "d" + cast(Donation.id, String),
    )


def net_donations(campaign_id: int, *criteria):
    """SQL: ids of the campaign's donations whose ledger rows (matching `criteria`) net above 0."""
    return (
        select(LedgerEntry.donation_id)
        .where(
            LedgerEntry.campaign_id == campaign_id, LedgerEntry.donation_id.is_not(None), *criteria
        )
        .group_by(LedgerEntry.donation_id)
        .having(func.sum(LedgerEntry.amount) > 0)
    )


def backers(campaign_id: int, *criteria) -> int:
    """Distinct donors (account, else e-mail) whose gifts to the campaign net more than zero."""
    net = net_donations(campaign_id, *criteria)
    return int(
        db.session.scalar(
            select(func.count(func.distinct(donor_key()))).where(Donation.id.in_(net))
        )
    )


def progress(campaign: Campaign) -> dict[str, Any]:
    """The public figures, in the API's shape (amounts in minor units)."""
    outlets = list(campaign.outlets)
    total = raised(campaign.id)
    shares = outlet_shares(campaign.id, [o.id for o in outlets])
    return {
        "slug": campaign.slug,
        "currency": campaign.currency,
        "goal": campaign.goal,
        "raised": total,
        "backers": backers(campaign.id),
        "percent": max(0, total) * 100 // campaign.goal,
        "ends_at": campaign.ends_at.isoformat().replace("+00:00", "Z"),
        "outlets": [{"slug": o.slug, "name": o.name, "raised": shares[o.id]} for o in outlets],
    }


@dataclass(frozen=True)
class Snapshot:
    """The progress of one campaign at one version: its JSON body and strong ETag."""

    campaign_id: int
    status: str
    version: int
    etag: str
    body: bytes
    figures: dict[str, Any]


class _Memo:
    """Per-process memo of snapshots, keyed by slug and checked against the version.

    Correctness never depends on it: a snapshot is reused only while the campaign's version in
    the database is unchanged, and the version check itself is skipped for at most
    FUNDRAISER_PROGRESS_FRESHNESS seconds (default 0.5), well inside the one second in which a
    gift must show.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, Snapshot]] = {}

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


MEMO = _Memo()


def fresh_snapshot(slug: str, freshness: float) -> Snapshot | None:
    """The memo's snapshot when its version was checked less than `freshness` seconds ago."""
    cached = MEMO.entries.get(slug)
    if cached is not None and time.monotonic() - cached[0] < freshness:
        return cached[1]
    return None


def snapshot(slug: str, min_version: int | None = None) -> Snapshot | None:
    """The current progress snapshot of a campaign (None when there is no such campaign); with
    `min_version`, never one older than that version (the caller read it from the database)."""
    freshness = float(current_app.config.get("FUNDRAISER_PROGRESS_FRESHNESS", 0.5))
    now = time.monotonic()
    cached = MEMO.entries.get(slug)
    if (
        cached is not None
        and now - cached[0] < freshness
        and (min_version is None or cached[1].version >= min_version)
    ):
        return cached[1]
    row = db.session.execute(
        select(Campaign.id, Campaign.totals_version, Campaign.status).where(Campaign.slug == slug)
    ).first()
    if row is None:
        MEMO.entries.pop(slug, None)
        return None
    campaign_id, version, status = row
    if cached is not None and (cached[1].campaign_id, cached[1].version) == (campaign_id, version):
        MEMO.entries[slug] = (now, cached[1])
        return cached[1]
    campaign = db.session.get(Campaign, campaign_id)
    figures = progress(campaign)
    body = json.dumps(figures, separators=(",", ":"), sort_keys=True).encode()
    snap = Snapshot(
        campaign_id=campaign_id,
        status=str(status.value if hasattr(status, "value") else status),
        version=version,
        etag=f"fr-{campaign_id}-{version}",
        body=body,
        figures=figures,
    )
    with MEMO.lock:
        if len(MEMO.entries) > 1000:
            MEMO.entries.clear()
        MEMO.entries[slug] = (now, snap)
    return snap
