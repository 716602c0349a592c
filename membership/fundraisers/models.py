"""Campaigns, their outlets, milestones and reward tiers, and the donations readers make."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.perks.models import Perk
from membership.timeutil import UTCDateTime, utcnow


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life."""

    draft = "draft"  # staff only
    live = "live"  # public, takes gifts between starts_at and ends_at
    ended = "ended"  # public, takes no gifts


class Campaign(db.Model):
    """A collective fundraiser: one page, one goal in one currency, several outlets."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("goal > 0", name="goal_positive"),
        CheckConstraint("min_amount > 0 AND max_amount >= min_amount", name="amount_bounds"),
        CheckConstraint("ends_at > starts_at", name="dates_ordered"),
        # Referred to by donations and ledger rows with their currency: on PostgreSQL the
        # campaign's currency cannot change under a gift, however the two race.
        UniqueConstraint("id", "currency", name="uq_campaigns_id_currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    story: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered through nh3
    goal: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, native_enum=False, length=16, validate_strings=True),
        default=CampaignStatus.draft,
    )
    min_amount: Mapped[int] = mapped_column(Integer, default=100)
    max_amount: Mapped[int] = mapped_column(Integer, default=1_000_000)
    preset_amounts: Mapped[list[int]] = mapped_column(JSON, default=list)  # minor units
    stripe_product_id: Mapped[str | None] = mapped_column(String(255))
    # Bumped by every ledger row and every staff change that the public figures show: the cache
    # key and the ETag of the progress API.
    totals_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    outlets: Mapped[list[Outlet]] = relationship(
        back_populates="campaign", order_by="(Outlet.position, Outlet.id)"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        order_by="(Milestone.amount, Milestone.id)", cascade="all, delete-orphan"
    )
    reward_tiers: Mapped[list[RewardTier]] = relationship(
        order_by="(RewardTier.minimum, RewardTier.id)", cascade="all, delete-orphan"
    )


class Outlet(db.Model):
    """A newsroom a campaign raises money for; owned by its campaign."""

    __tablename__ = "outlets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "slug", name="uq_outlets_campaign_slug"),
        CheckConstraint("goal IS NULL OR goal > 0", name="goal_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500), default="")
    logo_url: Mapped[str] = mapped_column(String(500), default="")
    blurb: Mapped[str] = mapped_column(String(500), default="")
    goal: Mapped[int | None]  # the outlet's own goal, minor units
    position: Mapped[int] = mapped_column(Integer, default=0)

    campaign: Mapped[Campaign] = relationship(back_populates="outlets")


class Milestone(db.Model):
    """A stretch goal: what the outlets will do once the campaign has raised `amount`."""

    __tablename__ = "milestones"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    amount: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")


class RewardTier(db.Model):
    """Give at least `minimum` (one gift, or one monthly payment) and get a perk for `months`."""

    __tablename__ = "reward_tiers"
    __table_args__ = (
        CheckConstraint("minimum > 0", name="minimum_positive"),
        CheckConstraint("months > 0", name="months_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    minimum: Mapped[int]
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"))
    months: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")

    perk: Mapped[Perk] = relationship(lazy="joined")


class Frequency(enum.StrEnum):
    """Once, or every month until cancelled."""

    once = "once"
    monthly = "monthly"


class DonationStatus(enum.StrEnum):
    """pending: sent to Checkout; paid: a one-time gift arrived; active/ended: a monthly gift."""

    pending = "pending"
    paid = "paid"
    active = "active"
    ended = "ended"


class Donation(db.Model):
    """One reader's gift (or monthly gift) to a campaign: all outlets, or one.

    The money itself is in the ledger (one row per payment); this row holds who, for whom, the
    wall entry, and the Stripe ids that tie the payments back to it.
    """

    __tablename__ = "donations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # A gift is in its campaign's currency (see Campaign.__table_args__).
        ForeignKeyConstraint(
            ["campaign_id", "currency"],
            ["campaigns.id", "campaigns.currency"],
            name="fk_donations_campaign_currency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))  # None: split
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))  # case-folded, from Checkout
    amount: Mapped[int]  # minor units, per payment
    currency: Mapped[str] = mapped_column(String(3))
    frequency: Mapped[Frequency] = mapped_column(
        Enum(Frequency, native_enum=False, length=16, validate_strings=True)
    )
    status: Mapped[DonationStatus] = mapped_column(
        Enum(DonationStatus, native_enum=False, length=16, validate_strings=True),
        default=DonationStatus.pending,
    )
    public_name: Mapped[str] = mapped_column(String(80), default="")  # empty: anonymous
    message: Mapped[str] = mapped_column(String(500), default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)  # staff moderation
    offline: Mapped[bool] = mapped_column(Boolean, default=False)  # recorded by staff
    note: Mapped[str] = mapped_column(String(255), default="")  # staff's note on offline gifts
    locale: Mapped[str] = mapped_column(String(8), default="en")
    ref: Mapped[str | None] = mapped_column(String(200))  # the article the reader came from
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A monthly gift's next payment: its subscription's current period end, kept when syncing.
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())

    campaign: Mapped[Campaign] = relationship(foreign_keys=[campaign_id])
    outlet: Mapped[Outlet | None] = relationship()
