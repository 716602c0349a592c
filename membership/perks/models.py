"""Perks (what membership opens) and grants (who has which perk, from when to when, and why)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow


class Perk(db.Model):
    """Something members get: members-only articles, ad-free reading, a newsletter …"""

    __tablename__ = "perks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GrantSource(enum.StrEnum):
    """Why a reader holds a perk."""

    membership = "membership"
    complimentary = "complimentary"
    gift = "gift"
    reward = "reward"


class PerkGrant(db.Model):
    """One perk for one reader from one source, valid in [starts_at, ends_at) unless revoked.

    Rows for memberships are recomputed from the membership's state; every change is also written
    to the audit log with its reason.
    """

    __tablename__ = "perk_grants"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "perk_id", "source", "source_ref", name="uq_perk_grants_origin"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"))
    source: Mapped[GrantSource] = mapped_column(
        Enum(GrantSource, native_enum=False, length=16, validate_strings=True)
    )
    # What the grant comes from: a membership id, a gift code, a donation id, a staff action …
    source_ref: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(255), default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    perk: Mapped[Perk] = relationship(lazy="joined")

    def is_active(self, at: datetime) -> bool:
        """Whether the grant opens its perk at time `at`."""
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)
