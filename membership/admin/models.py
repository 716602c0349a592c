"""Staff notes on a member, and the indexes the staff reports lean on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.accounts.models import User
from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import UTCDateTime, utcnow


class StaffNote(db.Model):
    """A note staff keep about a member: what they asked, what was done."""

    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


# The reports group memberships by when they started and ended, and joins by the article they came
# from; declared here (not in billing/models.py) because only the staff area needs them.
Index("ix_memberships_started_at", Membership.started_at)
Index("ix_memberships_ended_at", Membership.ended_at)
Index("ix_memberships_ref", Membership.ref)
# Revenue by month reads only these columns: an index-only scan instead of the table.
Index(
    "ix_ledger_entries_report",
    LedgerEntry.occurred_at,
    LedgerEntry.kind,
    LedgerEntry.currency,
    LedgerEntry.amount,
)
