"""The audit log: who did what to whom, kept for staff and for the reader's own export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """One action by a person (or by the system when actor is empty)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


def record(
    action: str,
    target_type: str,
    target_id: object,
    actor_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to the session; the caller's transaction commits it."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
    )
    db.session.add(entry)
    return entry
