"""Gift memberships: a buyer pays for months of a plan; the recipient redeems a code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.billing.models import Plan
from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow

GIFT_MONTHS = (3, 6, 12)


class GiftMembership(db.Model):
    """One gift: pending until Stripe says it is paid, then redeemable once."""

    __tablename__ = "gift_memberships"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("months IN (3, 6, 12)", name="months_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    months: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    buyer_email: Mapped[str] = mapped_column(String(254))
    recipient_email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text, default="")
    # pending → paid → redeemed; refunded or disputed once the payment is taken back in full
    # (services.follow_payment), and back to paid or redeemed if that refund fails
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()
