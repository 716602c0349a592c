"""Staff editing: campaigns, outlets, milestones, reward tiers, offline gifts and moderation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from membership import audit
from membership.accounts.models import User
from membership.extensions import db
from membership.fundraisers.campaigns import (
    MAX_AMOUNT,
    MAX_MESSAGE,
    MAX_PUBLIC_NAME,
    DonationError,
)
from membership.fundraisers.giving import attribution, describe, queue_receipt
from membership.fundraisers.models import (
    Campaign,
    CampaignStatus,
    Donation,
    DonationStatus,
    Frequency,
    Milestone,
    Outlet,
    RewardTier,
)
from membership.fundraisers.totals import bump_version
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.money import MoneyError, to_minor
from membership.timeutil import utcnow


def record_offline_gift(
    campaign: Campaign,
    amount: int,
    staff: User,
    *,
    outlet: Outlet | None = None,
    received_at: datetime | None = None,
    email: str = "",
    public_name: str = "",
    message: str = "",
    note: str = "",
) -> Donation:
    """A gift that reached an outlet outside Stripe (bank transfer, cash), recorded by staff."""
    if amount <= 0:
        raise DonationError("amount")
    if outlet is not None and outlet.campaign_id != campaign.id:
        raise DonationError("outlet")
    received_at = received_at or utcnow()
    donation = Donation(
        campaign_id=campaign.id,
        outlet_id=outlet.id if outlet else None,
        email=email.strip().lower() or None,
        amount=amount,
        currency=campaign.currency,
        frequency=Frequency.once,
        status=DonationStatus.paid,
        public_name=" ".join(public_name.split())[:MAX_PUBLIC_NAME],
        message=message.strip()[:MAX_MESSAGE],
        offline=True,
        note=note.strip()[:255],
        paid_at=received_at,
        locale=_receipt_language(email, staff),
    )
    db.session.add(donation)
    db.session.flush()
    db.session.refresh(donation, ["campaign", "outlet"])
    payment = ledger.record(
        EntryKind.offline,
        amount,
        campaign.currency,
        f"offline_donation_{donation.id}",
        received_at,
        description=("Bank transfer: " + describe(donation))[:255],
        **attribution(donation),
    )
    audit.record("donation.offline", "campaign", campaign.id, actor_id=staff.id,
                 donation=donation.id, amount=amount, note=donation.note)  # fmt: skip
    if donation.email and payment is not None:
        queue_receipt(donation, payment, f"donation-receipt-{donation.id}")
    return donation


def _receipt_language(email: str, staff: User) -> str:
    """The language of an offline gift's receipt: the donor's account's, when the address has
    one; else the language of the staff member who records it (who reads the donor's letters)."""
    address = email.strip().lower()
    account = (
        db.session.scalar(select(User.locale).where(User.email == address)) if address else None
    )
    return account or staff.locale or "en"


def set_hidden(donation: Donation, hidden: bool, staff: User) -> None:
    """Hide a wall entry (or show it again); the progress version moves with it."""
    if donation.hidden == hidden:
        return
    donation.hidden = hidden
    bump_version(donation.campaign_id)
    audit.record("donation.hidden" if hidden else "donation.shown", "campaign",
                 donation.campaign_id, actor_id=staff.id, donation=donation.id)  # fmt: skip


def parse_amount(text: str, currency: str) -> int:
    """Major units typed by staff to minor units; raises DonationError('amount')."""
    try:
        return to_minor(text or "", currency, maximum=MAX_AMOUNT)
    except MoneyError as exc:
        raise DonationError("amount") from exc


def has_gifts(campaign_id: int) -> bool:
    """Whether the campaign has any donation (even one still at Checkout) or ledger row."""
    donation = select(Donation.id).where(Donation.campaign_id == campaign_id).limit(1)
    money = select(LedgerEntry.id).where(LedgerEntry.campaign_id == campaign_id).limit(1)
    return db.session.scalar(donation) is not None or db.session.scalar(money) is not None


def save_campaign(campaign: Campaign | None, data: dict[str, Any], staff: User) -> Campaign:
    """Create or update a campaign from staff input (amounts in major units, times aware UTC).

    The currency cannot change once a gift exists (pending or paid) or money arrived: one
    currency per campaign, so that no total ever mixes two.
    """
    currency = data["currency"].lower()
    if campaign is not None and currency != campaign.currency and has_gifts(campaign.id):
        raise DonationError("currency")
    slug_owner = db.session.scalar(select(Campaign.id).where(Campaign.slug == data["slug"]))
    if slug_owner is not None and (campaign is None or slug_owner != campaign.id):
        raise DonationError("slug")
    if data["ends_at"] <= data["starts_at"]:
        raise DonationError("dates")
    minimum = parse_amount(data["min_amount"], currency)
    maximum = parse_amount(data["max_amount"], currency)
    if maximum < minimum:
        raise DonationError("bounds")
    preset_list = [
        parse_amount(part, currency)
        for part in (data.get("presets") or "").split(",")
        if part.strip()
    ]
    if campaign is None:
        campaign = Campaign(totals_version=0)
        db.session.add(campaign)
    campaign.title = data["title"].strip()
    campaign.slug = data["slug"]
    campaign.story = data.get("story") or ""
    campaign.goal = parse_amount(data["goal"], currency)
    campaign.currency = currency
    campaign.starts_at = data["starts_at"]
    campaign.ends_at = data["ends_at"]
    campaign.status = CampaignStatus(data["status"])
    campaign.min_amount = minimum
    campaign.max_amount = maximum
    campaign.preset_amounts = preset_list
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a gift arrived between the check above and this write
        raise DonationError("currency") from exc
    bump_version(campaign.id)
    audit.record("campaign.saved", "campaign", campaign.id, actor_id=staff.id,
                 slug=campaign.slug, status=campaign.status.value)  # fmt: skip
    return campaign


def save_outlet(
    campaign: Campaign, outlet: Outlet | None, data: dict[str, Any], staff: User
) -> Outlet:
    """Add or edit an outlet (slug unique within the campaign, never "all")."""
    if (data["slug"] or "").strip().lower() == "all":
        raise DonationError("reserved")  # the donation form's "shared by all outlets"
    clash = next((o for o in campaign.outlets if o.slug == data["slug"] and o is not outlet), None)
    if clash is not None:
        raise DonationError("slug")
    goal = parse_amount(data["goal"], campaign.currency) if data.get("goal") else None
    if outlet is None:
        outlet = Outlet(campaign_id=campaign.id)
        db.session.add(outlet)
    outlet.slug = data["slug"]
    outlet.name = data["name"].strip()
    outlet.url = data.get("url") or ""
    outlet.logo_url = data.get("logo_url") or ""
    outlet.blurb = data.get("blurb") or ""
    outlet.goal = goal
    outlet.position = data.get("position") or 0
    db.session.flush()
    db.session.expire(campaign, ["outlets"])
    bump_version(campaign.id)
    audit.record("campaign.outlet", "campaign", campaign.id, actor_id=staff.id, outlet=outlet.slug)
    return outlet


def add_milestone(
    campaign: Campaign, amount: str, title: str, description: str, staff: User | None = None
) -> Milestone:
    """Add a stretch goal."""
    milestone = Milestone(
        campaign_id=campaign.id,
        amount=parse_amount(amount, campaign.currency),
        title=title.strip(),
        description=(description or "").strip(),
    )
    db.session.add(milestone)
    db.session.flush()
    db.session.expire(campaign, ["milestones"])
    bump_version(campaign.id)
    audit.record("campaign.milestone", "campaign", campaign.id,
                 actor_id=staff.id if staff else None, amount=milestone.amount)  # fmt: skip
    return milestone


def add_reward_tier(
    campaign: Campaign,
    minimum: str,
    perk_id: int,
    months: int,
    title: str,
    staff: User | None = None,
) -> RewardTier:
    """Add a reward tier."""
    tier = RewardTier(
        campaign_id=campaign.id,
        minimum=parse_amount(minimum, campaign.currency),
        perk_id=perk_id,
        months=months,
        title=(title or "").strip(),
    )
    db.session.add(tier)
    db.session.flush()
    db.session.expire(campaign, ["reward_tiers"])
    bump_version(campaign.id)  # the campaign page lists the tiers
    audit.record("campaign.reward", "campaign", campaign.id, actor_id=staff.id if staff else None,
                 perk_id=perk_id, minimum=tier.minimum, months=months)  # fmt: skip
    return tier


def remove(obj: Milestone | RewardTier, staff: User | None = None) -> None:
    """Delete a milestone or reward tier (grants already made stay)."""
    campaign_id = obj.campaign_id
    what = "milestone" if isinstance(obj, Milestone) else "reward"
    audit.record(f"campaign.{what}_removed", "campaign", campaign_id,
                 actor_id=staff.id if staff else None, item=obj.id)  # fmt: skip
    db.session.delete(obj)
    db.session.flush()
    bump_version(campaign_id)
