"""The catalogue (plans and prices), memberships (one per Stripe subscription), Stripe events,
the recovery of failed renewals (payment_recoveries, recovery_notices) and what readers said
and chose when they asked to cancel (cancellation_requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.accounts.models import User
from membership.extensions import db
from membership.perks.models import Perk
from membership.timeutil import UTCDateTime, utcnow

JSONDocument = JSON().with_variant(JSONB(), "postgresql")

plan_perks = Table(
    "plan_perks",
    db.metadata,
    Column("plan_id", ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("perk_id", ForeignKey("perks.id", ondelete="CASCADE"), primary_key=True),
)

INTERVALS = ("month", "year")


class Plan(db.Model):
    """A membership level readers can buy, monthly or yearly."""

    __tablename__ = "plans"
    __table_args__ = (CheckConstraint("minimum_amount >= 0", name="minimum_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Pay what you want: the reader names the amount, at least `minimum_amount` per interval.
    pay_what_you_want: Mapped[bool] = mapped_column(Boolean, default=False)
    minimum_amount: Mapped[int] = mapped_column(Integer, default=0)
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    perks: Mapped[list[Perk]] = relationship(secondary=plan_perks, order_by=Perk.position)
    prices: Mapped[list[Price]] = relationship(back_populates="plan", order_by="Price.interval")

    def price_for(self, interval: str) -> Price | None:
        """The active fixed price for `month` or `year`."""
        return next((p for p in self.prices if p.interval == interval and p.active), None)


class Price(db.Model):
    """A fixed amount per interval; Stripe knows it by `lookup_key`."""

    __tablename__ = "prices"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    interval: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    lookup_key: Mapped[str] = mapped_column(String(200), unique=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    plan: Mapped[Plan] = relationship(back_populates="prices")


class Membership(db.Model):
    """One Stripe subscription of one reader, mirrored from Stripe's own state."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), index=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), index=True)
    interval: Mapped[str] = mapped_column(String(8), default="month")
    amount: Mapped[int] = mapped_column(Integer, default=0)
    # What each renewal charges after the subscription's lasting coupons and promotion codes
    # (`amount` is the price's); the base of MRR. None: not read from Stripe yet (rows made by
    # demo data or an import), which counts as `amount`.
    recurring_amount: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Whether Stripe's latest invoice for the subscription is paid.
    latest_invoice_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the unpaid renewal was issued; perks stay until then + the grace period.
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The article (or page) the reader joined from: Checkout metadata `ref`, for staff reports.
    ref: Mapped[str | None] = mapped_column(String(200))
    # Stripe's pause_collection (billing/cancellation.py): its behavior (void, keep_as_draft,
    # mark_uncollectible; None: not paused), when collection resumes, and when the pause began
    # (the end of the paid period, from the subscription's metadata).
    pause_behavior: Mapped[str | None] = mapped_column(String(32))
    paused_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resumes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    plan: Mapped[Plan | None] = relationship()

    LIVE_STATUSES = ("active", "trialing", "past_due")

    @property
    def is_live(self) -> bool:
        """Active, trialing or past due: the reader is still a member."""
        return self.status in self.LIVE_STATUSES

    @property
    def is_paused(self) -> bool:
        """Stripe voids its invoices for a while (pause_collection): its perks are suspended."""
        return self.is_live and self.pause_behavior == "void"


class StripeEvent(db.Model):
    """Every webhook event, stored once under Stripe's id before anything else happens."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    api_version: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # received → processed | ignored | failed (→ processed on a later retry or replay)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When `flask worker` retries a failed event (back-off); None once attempts ran out.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentRecovery(db.Model):
    """One failed renewal invoice of a membership, from its first failure to its outcome.

    `failing` until the invoice is paid (`recovered`, with Stripe's payment time) or the
    membership ends without it (`lost`: the subscription was cancelled, the invoice voided or
    marked uncollectible). Times are Stripe's, never the time of processing, so any order of
    events ends in the same row. Staff's recovery funnel is a query over this table.
    """

    __tablename__ = "payment_recoveries"
    __table_args__ = (
        CheckConstraint("amount_due >= 0 AND amount_recovered >= 0", name="amounts_not_negative"),
        CheckConstraint("status IN ('failing', 'recovered', 'lost')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_due: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # When the renewal was invoiced (the invoice's `created`): the grace period starts there,
    # as the perks' window does (Membership.past_due_since).
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    grace_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="failing", index=True)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_recovered: Mapped[int] = mapped_column(Integer, default=0)
    # When it was lost: the subscription's end, or when the invoice was voided.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    membership: Mapped[Membership] = relationship()
    user: Mapped[User] = relationship()
    notices: Mapped[list[RecoveryNotice]] = relationship(
        back_populates="recovery", order_by="RecoveryNotice.due_at"
    )


class RecoveryNotice(db.Model):
    """A mail of the recovery's schedule: the failure, the reminder, the last notice.

    Kept in the database so that any worker, instance or cron run sends it once when it is due:
    `key` (invoice and kind) is unique, and so is the mail's dedupe key. scheduled → sent, or
    cancelled (the invoice was paid or the membership ended first), or skipped (a later notice
    or the grace period's end overtook it).
    """

    __tablename__ = "recovery_notices"
    __table_args__ = (
        CheckConstraint("kind IN ('failed', 'reminder', 'last_notice')", name="kind_known"),
        CheckConstraint(
            "status IN ('scheduled', 'sent', 'cancelled', 'skipped')", name="status_known"
        ),
        Index("ix_recovery_notices_status_due", "status", "due_at"),  # what send_due() reads
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    recovery_id: Mapped[int] = mapped_column(
        ForeignKey("payment_recoveries.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recovery: Mapped[PaymentRecovery] = relationship(back_populates="notices")


class CancellationRequest(db.Model):
    """What a reader chose on the cancel page: the reason they gave (optional), their words,
    and the outcome: cancelled (at the period's end), paused (for 1 to 3 months) or kept with
    the retention offer. One row per choice that Stripe accepted; staff's report groups them."""

    __tablename__ = "cancellation_requests"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('cancelled', 'paused', 'kept_with_offer')", name="outcome_known"
        ),
        CheckConstraint(
            "(outcome = 'paused') = (pause_months IS NOT NULL)", name="pause_months_when_paused"
        ),
        CheckConstraint("pause_months BETWEEN 1 AND 3", name="pause_months_range"),
        Index("ix_cancellation_requests_created_at", "created_at"),  # the monthly report
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    # One of cancellation.REASONS, or None when the reader gave none.
    reason: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    pause_months: Mapped[int | None] = mapped_column(Integer)
    # The Stripe coupon of a retention offer taken; when a pause ends.
    coupon_id: Mapped[str | None] = mapped_column(String(255))
    resumes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    membership: Mapped[Membership] = relationship()
    user: Mapped[User] = relationship()
