"""The fiscal host of a campaign, the grants it pays the outlets, and the outlets' own staff."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.fundraisers.models import Campaign, Outlet
from membership.timeutil import UTCDateTime, utcnow


class FiscalHost(db.Model):
    """The organisation that runs one campaign in law and in Stripe: it receives every gift and
    passes each outlet its share as grants. One record per campaign; a campaign without one is
    hosted by the site's own settings (HOST_LEGAL_NAME, HOST_ADDRESS, HOST_REGISTRATION)."""

    __tablename__ = "fiscal_hosts"
    __table_args__ = (
        # A percentage with two decimals, kept as basis points: 0 to 50 %.
        CheckConstraint("fee_basis_points >= 0 AND fee_basis_points <= 5000", name="fee_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="")  # ISO 3166-1 alpha-2
    registration_number: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    contact: Mapped[str] = mapped_column(String(254), default="")  # e-mail address
    fee_basis_points: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()


class OutletGrant(db.Model):
    """Money the host paid an outlet (a grant), or the counter-entry that reverses one.

    Append-only: a grant recorded by mistake is undone by its counter-entry (negative, naming
    the grant in `reverses_id`, at most one per grant), never edited or deleted. `token` is the
    form's idempotency token, so a double click records one grant.
    """

    __tablename__ = "outlet_grants"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="amount_sign",
        ),
        CheckConstraint("paid_amount IS NULL OR paid_amount > 0", name="paid_amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    amount: Mapped[int]  # minor units of `currency`, signed
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(120), default="")
    # What the bank actually paid out, when in another currency (GEL, AMD …), and the rate used.
    paid_amount: Mapped[int | None]
    paid_currency: Mapped[str | None] = mapped_column(String(3))
    rate: Mapped[str | None] = mapped_column(String(32))  # decimal text: 1 `currency` = rate
    note: Mapped[str] = mapped_column(String(255), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("outlet_grants.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    outlet: Mapped[Outlet] = relationship()


class OutletStaff(db.Model):
    """An account that works for one outlet: it sees that outlet's statement and moderates its
    supporters' wall, and nothing else of the staff area."""

    __tablename__ = "outlet_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    outlet: Mapped[Outlet] = relationship()
