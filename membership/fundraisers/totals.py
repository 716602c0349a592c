"""Progress: the campaign's figures (raised, backers, each outlet's share) as queries over the
ledger, and the versioned snapshot the progress API, the page and the widget serve."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, case, cast, func, literal, select, update

from membership.extensions import db
from membership.fundraisers.models import Campaign, Donation
from membership.fundraisers.rewards import end_rewards
from membership.ledger import services as ledger
from membership.ledger.models import LedgerEntry, LedgerFee


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


def _on_new_fee(fee: LedgerFee) -> None:
    """Ledger hook: a fee of a campaign's payment changes its transparency figures."""
    if fee.campaign_id is not None:
        bump_version(fee.campaign_id)


def _before_fee(payment: LedgerEntry) -> None:
    """Ledger hook: lock the campaign row (as the version bump would) before a fee's unique
    slot is taken. A refund's handler bumps the campaign and then records the charge's fee; a
    charge's handler must not hold that fee's slot while it waits for the campaign."""
    if payment.campaign_id is not None:
        db.session.execute(
            select(Campaign.id)
            .where(Campaign.id == payment.campaign_id)
            .with_for_update(key_share=True)
        )


ledger.ON_NEW_ENTRY.append(_on_new_entry)
ledger.ON_NEW_FEE.append(_on_new_fee)
ledger.BEFORE_FEE.append(_before_fee)


def equal_shares(amount: int, n: int) -> list[int]:
    """A split payment's share for each of n outlets in display order: amount // n each, and the
    amount % n units left over one each to the first outlets."""
    quotient, rest = divmod(amount, n)
    return [quotient + (1 if index < rest else 0) for index in range(n)]


def taken_back(shares: list[int], reversed_amount: int) -> list[int]:
    """How much of each share a payment's refunds and lost disputes took back, in all.

    `reversed_amount` (the payment's net reversals, failed refunds deducted) is split in
    proportion to the shares, rounding along the running sum: outlet i gets
    floor(R·C_i / P) - floor(R·C_(i-1) / P), where C_i is the sum of the first i shares and P
    their total. The parts add up to R exactly, each stays within 0 and its share (for R within
    0 and P), and at R = P each is its share: a payment refunded in full, in any number of
    partial refunds, nets every outlet to exactly 0. The figure depends only on R, never on the
    order or size of the partial refunds.
    """
    payment = sum(shares)
    if payment == 0:
        return [0] * len(shares)
    parts, running, before = [], 0, 0
    for share in shares:
        running += share
        upto = reversed_amount * running // payment
        parts.append(upto - before)
        before = upto
    return parts


def _split_reversals(
    campaign_id: int, outlet_ids: list[int], criteria: tuple, key
) -> dict[tuple[Any, int], int]:
    """Each outlet's part of the refunds and lost disputes of split payments matching criteria.

    Each reversing row takes the difference its amount makes to the payment's running total of
    reversals (in Stripe's order: occurred_at, then id), so the rows of one payment add up to
    taken_back() of its net reversals, and a period holds exactly the rows that fell in it.
    """
    matches = case((and_(*criteria), 1), else_=0) if criteria else literal(1)
    group = key if key is not None else literal(None)
    rows = db.session.execute(
        select(LedgerEntry.reverses_id, LedgerEntry.amount, group, matches)
        .where(
            LedgerEntry.campaign_id == campaign_id,
            LedgerEntry.outlet_id.is_(None),
            LedgerEntry.reverses_id.is_not(None),
        )
        .order_by(LedgerEntry.reverses_id, LedgerEntry.occurred_at, LedgerEntry.id)
    ).all()
    if not rows:
        return {}
    payments = dict(
        db.session.execute(
            select(LedgerEntry.id, LedgerEntry.amount).where(
                LedgerEntry.id.in_({row[0] for row in rows})
            )
        ).all()
    )
    n = len(outlet_ids)
    out: dict[tuple[Any, int], int] = {}
    running: dict[int, int] = {}
    for payment_id, amount, group_value, matched in rows:
        shares = equal_shares(payments.get(payment_id, 0), n)
        before = running.get(payment_id, 0)
        after = before - amount  # reversals are negative; a failed refund's row gives back
        running[payment_id] = after
        if not matched:
            continue
        now, earlier = taken_back(shares, after), taken_back(shares, before)
        for outlet_id, upto, prior in zip(outlet_ids, now, earlier, strict=True):
            part = upto - prior
            slot = (group_value if key is not None else None, outlet_id)
            out[slot] = out.get(slot, 0) - part
    return out


def split_shares(
    campaign_id: int, outlet_ids: list[int], *criteria, key=None
) -> dict[tuple[Any, int], int]:
    """Each outlet's part of the campaign's ledger rows matching `criteria`, per value of `key`."""
    # A row with an outlet counts for that outlet. A gift without one is shared equally among the
    # campaign's outlets in display order (equal_shares); its refunds and lost disputes take back
    # from those shares in proportion (taken_back), so every outlet's figure nets exactly and the
    # shares add up to the total. Both the public progress and the staff report read their
    # outlet figures from here.
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
    # Split payments (and any reversing row that names no payment), in SQL: grouped by sign and
    # |amount| % N, so a campaign of many gifts costs one grouped query.
    magnitude = func.abs(LedgerEntry.amount)
    positive = case((LedgerEntry.amount > 0, 1), else_=0)
    remainder = magnitude % n
    groups = db.session.execute(
        select(*keys, positive, remainder, func.sum(magnitude // n), func.count())
        .where(*where, LedgerEntry.outlet_id.is_(None), LedgerEntry.reverses_id.is_(None))
        .group_by(*keys, positive, remainder)
    ).all()
    for *group, is_positive, rest, quotient_sum, count in groups:
        sign = 1 if is_positive else -1
        for index, outlet_id in enumerate(outlet_ids):
            slot = (group[0] if group else None, outlet_id)
            part = sign * (int(quotient_sum) + (int(count) if index < rest else 0))
            shares[slot] = shares.get(slot, 0) + part
    for slot, part in _split_reversals(campaign_id, outlet_ids, criteria, key).items():
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
    """The progress of one campaign at one version: its JSON body and strong ETag; `variants`
    holds the bodies with display strings per language (display.localized), made on demand."""

    campaign_id: int
    status: str
    version: int
    etag: str
    body: bytes
    figures: dict[str, Any]
    variants: dict[str, tuple[str, bytes]] = field(default_factory=dict, compare=False, repr=False)


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
