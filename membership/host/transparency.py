"""Where the money went, for donors: raised, Stripe's fees, the host's fee and the grants paid,
per outlet, from the ledger (accounts.accounts), in the campaign's currency.

Cached like the progress API: a snapshot per campaign is reused while its `totals_version`
(moved by every ledger row, fee, grant and host change) is unchanged, checked at most every
FUNDRAISER_PROGRESS_FRESHNESS seconds.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign
from membership.host import accounts
from membership.host.hosts import host_for


def figures(campaign: Campaign) -> dict[str, Any]:
    """The transparency figures in the API's shape (minor units of the campaign's currency)."""
    own = [a for a in accounts.accounts(campaign) if a.currency == campaign.currency]
    outlets = [
        {"slug": a.outlet.slug, "name": a.outlet.name, "raised": a.raised, "fees": a.fees,
         "host_fee": a.host_fee, "granted": a.granted, "balance": a.balance}
        for a in own
    ]  # fmt: skip
    return {
        "slug": campaign.slug,
        "currency": campaign.currency,
        "raised": totals.raised(campaign.id),
        "fees": sum(o["fees"] for o in outlets),
        "host_fee": sum(o["host_fee"] for o in outlets),
        "granted": sum(o["granted"] for o in outlets),
        "outlets": outlets,
    }


@dataclass(frozen=True)
class Snapshot:
    """One campaign's transparency figures at one version, with its JSON body and ETag."""

    campaign_id: int
    status: str
    version: int
    etag: str
    body: bytes
    figures: dict[str, Any]
    host_name: str
    host_fee_basis_points: int


_LOCK = threading.Lock()
_MEMO: dict[str, tuple[float, Snapshot]] = {}


def clear() -> None:
    """Forget every snapshot (tests)."""
    with _LOCK:
        _MEMO.clear()


def snapshot(slug: str) -> Snapshot | None:
    """The campaign's current snapshot (None: no such campaign)."""
    freshness = float(current_app.config.get("FUNDRAISER_PROGRESS_FRESHNESS", 0.5))
    now = time.monotonic()
    cached = _MEMO.get(slug)
    if cached is not None and now - cached[0] < freshness:
        return cached[1]
    row = db.session.execute(
        select(Campaign.id, Campaign.totals_version, Campaign.status).where(Campaign.slug == slug)
    ).first()
    if row is None:
        _MEMO.pop(slug, None)
        return None
    campaign_id, version, status = row
    if cached is not None and (cached[1].campaign_id, cached[1].version) == (campaign_id, version):
        _MEMO[slug] = (now, cached[1])
        return cached[1]
    campaign = db.session.get(Campaign, campaign_id)
    shown = figures(campaign)
    host = host_for(campaign)
    snap = Snapshot(
        campaign_id=campaign_id,
        status=str(getattr(status, "value", status)),
        version=version,
        etag=f"tr-{campaign_id}-{version}",
        body=json.dumps(shown, separators=(",", ":"), sort_keys=True).encode(),
        figures=shown,
        host_name=host.legal_name,
        host_fee_basis_points=host.fee_basis_points,
    )
    with _LOCK:
        if len(_MEMO) > 1000:
            _MEMO.clear()
        _MEMO[slug] = (now, snap)
    return snap
