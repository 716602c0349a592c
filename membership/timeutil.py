"""Timezone-aware UTC time and a column type that keeps it aware on every database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def from_unix(seconds: int | float | None) -> datetime | None:
    """Convert a Unix timestamp (as Stripe sends) to an aware UTC datetime."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC)


class UTCDateTime(TypeDecorator):
    """DateTime stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Refuse naive datetimes: every time in this app is aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        """Attach UTC to what SQLite hands back without a zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def render_migration_item(type_: str, obj, autogen_context):
    """Write UTCDateTime into migrations as a plain DateTime, so they never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
