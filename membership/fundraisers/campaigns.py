"""Reading campaigns: the live one, whether a campaign takes gifts, its story, the wall."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import markdown
import nh3
from markupsafe import Markup
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import (
    Campaign,
    CampaignStatus,
    Donation,
    DonationStatus,
    Milestone,
)
from membership.fundraisers.totals import snapshot
from membership.timeutil import utcnow

KIND = "donation"  # Stripe metadata `kind` of every fundraiser object
MAX_MESSAGE = 500
MAX_PUBLIC_NAME = 80
MAX_AMOUNT = 2**31 - 1  # amounts are INTEGER columns: a larger value would fail the INSERT


class DonationError(Exception):
    """A gift that cannot go to Checkout; str() is a code the view turns into a message."""


def campaign_by_slug(slug: str) -> Campaign | None:
    """The campaign with this slug, any status."""
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def live_campaign() -> Campaign | None:
    """The live campaign to feature on the front page: open now, ending soonest."""
    now = utcnow()
    return db.session.scalar(
        select(Campaign)
        .where(
            Campaign.status == CampaignStatus.live,
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
        )
        .order_by(Campaign.ends_at, Campaign.id)
        .limit(1)
    )


def teaser() -> dict[str, Any] | None:
    """The live campaign and its figures for the front page, or None."""
    campaign = live_campaign()
    if campaign is None:
        return None
    snap = snapshot(campaign.slug)
    return {
        "campaign": campaign,
        "figures": snap.figures,
        "days_left": days_left(campaign),
        "has_ended": False,
    }


def is_open(campaign: Campaign, at: datetime | None = None) -> bool:
    """Whether the campaign takes gifts now: live, started and not past its end."""
    at = at or utcnow()
    return campaign.status == CampaignStatus.live and campaign.starts_at <= at < campaign.ends_at


def has_ended(campaign: Campaign, at: datetime | None = None) -> bool:
    """Ended by staff or by its end date."""
    at = at or utcnow()
    return campaign.status == CampaignStatus.ended or at >= campaign.ends_at


def render_story(story: str) -> Markup:
    """Markdown to HTML, cleaned by nh3 (no scripts, no event handlers, safe links)."""
    html = markdown.markdown(story or "", extensions=["extra"], output_format="html")
    cleaned = nh3.clean(html, link_rel="noopener noreferrer nofollow")
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 just above  # nosec B704


def days_left(campaign: Campaign, at: datetime | None = None) -> int:
    """Whole days until the end, rounded up; 0 once ended."""
    at = at or utcnow()
    remaining = campaign.ends_at - at
    if remaining <= timedelta(0):
        return 0
    return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)


def presets(campaign: Campaign) -> list[int]:
    """The preset amounts shown on the form (minor units), within the campaign's bounds."""
    return [
        a for a in campaign.preset_amounts or [] if campaign.min_amount <= a <= campaign.max_amount
    ]


def wall(campaign_id: int, limit: int = 50) -> list[Donation]:
    """Supporters who chose to show a name, whose gift arrived, not hidden by staff."""
    return list(
        db.session.scalars(
            select(Donation)
            .where(
                Donation.campaign_id == campaign_id,
                Donation.status != DonationStatus.pending,
                Donation.public_name != "",
                Donation.hidden.is_(False),
            )
            .order_by(Donation.paid_at.desc(), Donation.id.desc())
            .limit(limit)
        )
    )


def donations_of(user_id: int) -> list[Donation]:
    """A reader's donations that reached us, newest first."""
    return list(
        db.session.scalars(
            select(Donation)
            .where(Donation.user_id == user_id, Donation.status != DonationStatus.pending)
            .order_by(Donation.created_at.desc(), Donation.id.desc())
        )
    )


def reached(figures: dict[str, Any], milestone: Milestone) -> bool:
    """Whether the raised amount has reached a milestone."""
    return figures["raised"] >= milestone.amount
