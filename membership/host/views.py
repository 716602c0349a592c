"""GET /fundraisers/<slug>/transparency: where the donors' money went, per outlet."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template
from flask_babel import format_percent

from membership.fundraisers import campaigns
from membership.fundraisers.models import CampaignStatus
from membership.host import transparency

bp = Blueprint("host", __name__)


@bp.get("/fundraisers/<slug>/transparency")
def transparency_page(slug: str):
    """Raised, Stripe's fees, the host's fee and the grants paid, per outlet (drafts: 404)."""
    snap = transparency.snapshot(slug)
    if snap is None or snap.status == CampaignStatus.draft.value:
        abort(404)
    campaign = campaigns.campaign_by_slug(slug)
    percent = format_percent(Decimal(snap.host_fee_basis_points) / 10_000, "#,##0.##%")
    return render_template("fundraisers/transparency.html", campaign=campaign, snap=snap,
                           figures=snap.figures, host_percent=percent)  # fmt: skip
