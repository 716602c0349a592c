"""The ledger: one row per money movement, keyed by the Stripe object that moved it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow


class EntryKind(enum.StrEnum):
    """What kind of money movement a row records."""

    membership = "membership"
    gift = "gift"  # a one-time donation
    monthly_gift = "monthly_gift"  # one paid invoice of a recurring donation
    offline = "offline"  # recorded by staff: bank transfer, cash
    refund = "refund"
    dispute = "dispute"  # a dispute lost: the money went back to the card holder
    # A refund that failed or was canceled after its row was written: the money came back. The
    # ledger is append-only, so the refund row stays and this positive row nets it.
    refund_failed = "refund_failed"


NEGATIVE_KINDS = (EntryKind.refund, EntryKind.dispute)
# Rows that take money back from (or return it to) a payment; `reverses_id` names the payment.
REVERSING_KINDS = (*NEGATIVE_KINDS, EntryKind.refund_failed)


class LedgerEntry(db.Model):
    """Append-only: rows are inserted once per Stripe object and never updated.

    Amounts are signed integers in minor units: payments positive, refunds and lost disputes
    negative. `stripe_object_id` is unique, so a duplicated or replayed webhook cannot count twice.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "(kind IN ('refund', 'dispute') AND amount < 0) "
            "OR (kind NOT IN ('refund', 'dispute') AND amount > 0)",
            name="amount_sign",
        ),
        Index("ix_ledger_entries_occurred_kind", "occurred_at", "kind"),
        # A fundraiser's money is in the fundraiser's currency (Campaign.__table_args__).
        ForeignKeyConstraint(
            ["campaign_id", "currency"],
            ["campaigns.id", "campaigns.currency"],
            name="fk_ledger_entries_campaign_currency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(
        Enum(EntryKind, native_enum=False, length=16, validate_strings=True)
    )
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"), index=True)
    # The Stripe object this row records: in_…, pi_…, re_…, dp_…, or offline_… for staff entries.
    stripe_object_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The payment a refund or dispute takes money back from, and the payment intent of a payment.
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    # The collective fundraiser a gift belongs to; outlet None on a campaign row = split equally.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # Stripe's hosted invoice or receipt page, shown to the reader.
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UnattributedMoney(db.Model):
    """Money Stripe reported that the app cannot count as its own, listed for staff.

    A refund or a lost dispute of a charge the app never sold (same Stripe account, another
    product), or a payment in another currency than the campaign or gift it names. None of it
    is in the ledger, so no total counts it. One row per Stripe object; `status` follows it.
    """

    __tablename__ = "unattributed_money"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_object_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # refund, dispute, payment
    reason: Mapped[str] = mapped_column(String(16))  # unknown_payment, currency
    amount: Mapped[int]  # signed as the ledger would have it
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), default="")  # Stripe's, when it has one
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    detail: Mapped[str] = mapped_column(String(255), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerFee(db.Model):
    """What Stripe kept (or gave back) on a payment: one row per balance transaction.

    Beside the payment's ledger row (`entry_id`), never in its amount: gross stays what donors
    gave. `fee` is Stripe's, in Stripe's currency and minor units: positive is a cost (a card
    payment's fee, a dispute's fee), negative a fee given back (a won dispute). Refunds carry
    fee 0 (Stripe keeps the payment's fee). Append-only and unique per balance transaction, so a
    duplicated or replayed event cannot count a fee twice.
    """

    __tablename__ = "ledger_fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    balance_transaction_id: Mapped[str] = mapped_column(String(255), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    source_id: Mapped[str] = mapped_column(String(255))  # ch_…, re_…, dp_…
    kind: Mapped[str] = mapped_column(String(32))  # Stripe's balance transaction type
    amount: Mapped[int]  # the balance transaction's amount, signed
    fee: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[str | None] = mapped_column(String(32))
    # Copied from the payment (as refunds do), so fees group by campaign and outlet directly.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
