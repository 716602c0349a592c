"""Access rules (which perk an article needs), CMS API keys and metered reads."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.perks.models import Perk
from membership.timeutil import UTCDateTime, utcnow


class RuleKind(enum.StrEnum):
    """How a rule names articles, in the CMS's own terms (most specific first)."""

    id = "id"
    slug = "slug"
    tag = "tag"
    path = "path"


class AccessRule(db.Model):
    """Articles matching `kind`/`value` need `perk`; no perk means explicitly open."""

    __tablename__ = "access_rules"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_access_rules_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RuleKind] = mapped_column(
        Enum(RuleKind, native_enum=False, length=8, validate_strings=True)
    )
    # An id, a slug, a tag, or a URL path prefix without its trailing slash ("/premium").
    value: Mapped[str] = mapped_column(String(255))
    perk_id: Mapped[int | None] = mapped_column(ForeignKey("perks.id"))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    perk: Mapped[Perk | None] = relationship(lazy="joined")


class ApiKey(db.Model):
    """A CMS's server-to-server key: shown once, stored as a SHA-256 hash, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key, so staff can tell keys apart without seeing them.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:
        """Whether the key still opens the API."""
        return self.revoked_at is None


class MeterRead(db.Model):
    """A premium article a signed-in reader opened on the free meter (anonymous meters live in
    a signed cookie instead, so anonymous traffic never writes here)."""

    __tablename__ = "meter_reads"
    __table_args__ = (Index("ix_meter_reads_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    article: Mapped[str] = mapped_column(String(255))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
