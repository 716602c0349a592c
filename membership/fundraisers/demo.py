"""Demo fundraiser: a live campaign of three outlets, with gifts made through the real code path
(sandbox Checkout + the webhook's sync function) and two bank transfers recorded by staff."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from membership.accounts.models import Role, User
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.fundraisers import editing, giving
from membership.fundraisers.models import Campaign, CampaignStatus, Milestone, Outlet, RewardTier
from membership.perks.models import Perk
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

SLUG = "independent-together"

STORY = """Three small newsrooms, one fundraiser. **Mountain Post**, **River Daily** and
**Valley Voice** report where nobody else does: council budgets, school closures, the river's
pollution.

Give to all three (your gift is shared equally) or choose one. Every euro shows on the bar.

* €50 or more: six months of members-only articles
* Bank transfers count too: staff add them by hand

სამი მცირე რედაქცია, ერთი შეგროვება. შეგიძლიათ შემოწირულობა სამივეს გაუნაწილოთ თანაბრად
ან ერთი მათგანი აირჩიოთ: ყოველი ევრო ზოლზე გამოჩნდება.
"""

OUTLETS = [
    ("mountain-post", "Mountain Post", "https://mountain-post.example.org/",
     "Reporting from the highland villages since 2014. · მაღალმთიანი სოფლების ამბები 2014 წლიდან.",
     400_000),
    ("river-daily", "River Daily", "https://river-daily.example.org/",
     "Environment and accountability along the river.", None),
    ("valley-voice", "Valley Voice", "https://valley-voice.example.org/",
     "The valley's independent radio newsroom.", None),
]  # fmt: skip

SANDBOX_GIFTS = [
    # amount, frequency, outlet, public name, message, e-mail
    ("25", "once", "all", "Nino", "Keep asking the hard questions.", "nino@example.org"),
    ("50", "once", "river-daily", "Levan", "For the river reporting!", "levan@example.org"),
    ("10", "monthly", "all", "", "", "anon@example.org"),
]


def seed_fundraiser(summary, members: int, echo) -> None:
    """The live collective fundraiser, once."""
    if db.session.scalar(select(Campaign.id).where(Campaign.slug == SLUG)) is not None:
        return
    now = utcnow()
    campaign = Campaign(
        slug=SLUG,
        title="Independent Together",
        story=STORY,
        goal=1_500_000,
        currency="eur",
        starts_at=now - timedelta(days=5),
        ends_at=now + timedelta(days=25),
        status=CampaignStatus.live,
        min_amount=500,
        max_amount=500_000,
        preset_amounts=[1000, 2500, 5000, 10000],
        totals_version=0,
    )
    db.session.add(campaign)
    db.session.flush()
    for position, (slug, name, url, blurb, goal) in enumerate(OUTLETS):
        db.session.add(Outlet(campaign_id=campaign.id, slug=slug, name=name, url=url,
                              blurb=blurb, goal=goal, position=position))  # fmt: skip
    db.session.add(Milestone(campaign_id=campaign.id, amount=500_000, title="A new reporter"))
    db.session.add(Milestone(campaign_id=campaign.id, amount=1_500_000, title="A shared data desk"))
    perk = db.session.scalar(select(Perk).where(Perk.slug == "members-only-articles"))
    if perk is not None:
        tier = RewardTier(campaign_id=campaign.id, minimum=5000, perk_id=perk.id, months=6,
                          title="Six months of members-only articles")  # fmt: skip
        db.session.add(tier)
    db.session.flush()
    db.session.expire(campaign)
    staff = db.session.scalar(
        select(User).where(User.role.in_((Role.staff, Role.admin))).order_by(User.id).limit(1)
    )
    offline = 0
    if staff is not None:
        outlets = {o.slug: o for o in campaign.outlets}
        editing.record_offline_gift(campaign, 20_000, staff, outlet=outlets["mountain-post"],
                                     public_name="Highland Teachers' Union",
                                     message="Bank transfer from our members.",
                                     note="demo transfer")  # fmt: skip
        editing.record_offline_gift(campaign, 7_500, staff, note="demo cash at the town fair")
        offline = 2
    online = _sandbox_gifts(campaign, echo)
    summary.parts.append(f"1 live fundraiser ({online} online gifts, {offline} bank transfers)")


def _sandbox_gifts(campaign: Campaign, echo) -> int:
    """Gifts through the sandbox's Checkout, mirrored by the function the webhook calls."""
    from flask import current_app

    from membership.billing.demo import _sandbox_control

    config = current_app.config
    if not (config.get("STRIPE_SANDBOX") and config.get("STRIPE_API_BASE")):
        return 0
    made = 0
    for amount, frequency, outlet, name, message, email in SANDBOX_GIFTS:
        gift = giving.GiftRequest(amount, frequency, outlet, name, message)
        try:
            _, url = giving.start_donation(campaign, gift, None)
            session_id = url.rstrip("/").rsplit("/", 1)[-1]
            _sandbox_control(f"/_sandbox/checkout/sessions/{session_id}/complete", {"email": email})
            giving.sync_checkout(gateway.retrieve_checkout_session(session_id))
            made += 1
        except (gateway.PaymentProviderError, OSError, KeyError, ValueError) as exc:
            log.warning("demo gift skipped: %s", exc)
            echo(f"(The sandbox did not answer, so the demo fundraiser has fewer gifts: {exc})")
            break
    return made
