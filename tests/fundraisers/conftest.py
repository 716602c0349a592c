"""Fundraiser fixtures: a live campaign of three outlets, and helpers to give and to read totals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import (
    Campaign,
    CampaignStatus,
    Donation,
    Milestone,
    Outlet,
    RewardTier,
)
from membership.ledger.models import LedgerEntry
from membership.perks.models import Perk
from membership.timeutil import utcnow

SLUG = "reporters-together"
OUTLETS = ("mountain-post", "river-daily", "valley-voice")


def make_campaign(slug: str = SLUG, status: CampaignStatus = CampaignStatus.live, **extra) -> int:
    """Insert a campaign with three outlets, two milestones and a reward tier; returns its id."""
    now = utcnow()
    values = {
        "slug": slug,
        "title": "Reporters Together",
        "story": "We are **three** newsrooms.\n\n<script>alert('story')</script>",
        "goal": 1_000_000,
        "currency": "eur",
        "starts_at": now - timedelta(days=3),
        "ends_at": now + timedelta(days=27, hours=1),
        "status": status,
        "min_amount": 500,
        "max_amount": 500_000,
        "preset_amounts": [1000, 2500, 5000, 10000],
        "totals_version": 0,
        **extra,
    }
    campaign = Campaign(**values)
    db.session.add(campaign)
    db.session.flush()
    for position, outlet_slug in enumerate(OUTLETS):
        db.session.add(
            Outlet(
                campaign_id=campaign.id,
                slug=outlet_slug,
                name=outlet_slug.replace("-", " ").title(),
                url=f"https://{outlet_slug}.example.org/",
                blurb=f"News from the {outlet_slug.split('-')[0]}.",
                position=position,
                goal=300_000 if position == 0 else None,
            )
        )
    db.session.add(Milestone(campaign_id=campaign.id, amount=5000, title="A first reporter"))
    db.session.add(Milestone(campaign_id=campaign.id, amount=2_000_000, title="A data desk"))
    perk = db.session.scalar(select(Perk).where(Perk.slug == "members-only-articles"))
    db.session.add(
        RewardTier(campaign_id=campaign.id, minimum=5000, perk_id=perk.id, months=6,
                   title="Six months of members-only articles")
    )  # fmt: skip
    db.session.commit()
    return campaign.id


@pytest.fixture
def campaign(app):
    """A live campaign (goal €10,000, gifts €5 to €5,000), the demo perks, a fresh memo."""
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 0
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 0  # tests of the micro-cache turn it on
    totals.MEMO.clear()
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
        campaign_id = make_campaign()
    yield campaign_id
    totals.MEMO.clear()


def give(auth, amount="25", frequency="once", outlet="all", public_name="", message="",
         slug=SLUG, expect=303):  # fmt: skip
    """Submit the donation form; returns the response (Checkout URL in Location on success)."""
    data = {"amount": amount, "frequency": frequency, "outlet": outlet,
            "public_name": public_name, "message": message}  # fmt: skip
    response = auth.post(f"/fundraisers/{slug}/donate", data, form_page=f"/fundraisers/{slug}")
    assert response.status_code == expect, response.get_data(as_text=True)[:2000]
    return response


def give_and_pay(auth, stripe_world, email="donor@example.org", card="4242424242424242", **kw):
    """Give through the form, pay on the sandbox's Checkout and deliver the webhooks."""
    url = give(auth, **kw).headers["Location"]
    stripe_world.pay(url, card=card, email=email)
    stripe_world.deliver()
    return url


def progress(client, slug=SLUG) -> dict:
    """The public progress API's answer."""
    response = client.get(f"/api/v1/fundraisers/{slug}/progress")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ledger_sum(app, campaign_id: int) -> int:
    """The sum of the campaign's ledger rows, straight from the table."""
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.campaign_id == campaign_id
                )
            )
        )


def donations(app) -> list[Donation]:
    """Every donation, detached, oldest first."""
    with app.app_context():
        rows = list(db.session.scalars(select(Donation).order_by(Donation.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def text_of(html: str) -> str:
    """Visible-ish text of a page, for simple assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
