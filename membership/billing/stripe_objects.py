"""Our own small views of Stripe's objects, read from plain JSON (webhook payloads or the API).

Every reader of Stripe data goes through these, so the current API's shapes are handled in one
place: subscription periods live on the items; an invoice names its subscription under
`parent.subscription_details`; a payment intent has `latest_charge`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from membership.timeutil import from_unix


def _id(value: Any) -> str | None:
    """An id from a field that is either an id or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _meta(obj: dict[str, Any]) -> dict[str, str]:
    """Metadata as a plain dict of strings."""
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def _after_discounts(amount: int, currency: str, discounts: list[Any]) -> int | None:
    """What a renewal charges: the items' amount less the subscription's lasting discounts.

    Discounts must be expanded with their coupon (`discounts.source.coupon`); None when one is
    not. A `once` coupon is spent on the first invoice and does not recur; a `repeating` one
    counts while it is on the subscription (Stripe takes it off at its end, with events).
    """
    left = amount
    for discount in discounts:
        if not isinstance(discount, dict):
            return None
        source = discount.get("source") or {}
        coupon = source.get("coupon") if "source" in discount else discount.get("coupon")
        if not isinstance(coupon, dict):
            return None
        if coupon.get("duration") == "once":
            continue
        if coupon.get("percent_off"):
            off = Decimal(left) * Decimal(str(coupon["percent_off"])) / 100
            left -= int(off.quantize(Decimal(1), ROUND_HALF_UP))
        elif coupon.get("amount_off") and (coupon.get("currency") or "").lower() == currency:
            left -= min(left, int(coupon["amount_off"]))
    return max(left, 0)


@dataclass(frozen=True)
class Subscription:
    """A Stripe subscription's state."""

    id: str
    customer: str
    status: str
    price_id: str | None
    product_id: str | None
    interval: str
    amount: int
    currency: str
    started_at: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    trial_end: datetime | None
    metadata: dict[str, str]
    latest_invoice_id: str | None
    latest_invoice_status: str | None
    latest_invoice_created: datetime | None
    # Why it was cancelled, in the canceller's words (ours: "duplicate of sub_…").
    cancellation_comment: str | None = None
    # Stripe's reason: cancellation_requested, payment_failed or payment_disputed.
    cancellation_reason: str | None = None
    # What each renewal charges after coupons and promotion codes; None: discounts not expanded.
    recurring_amount: int | None = None
    # pause_collection: how invoices are treated while paused (None: not paused), and when
    # collection resumes (None: until someone resumes it).
    pause_behavior: str | None = None
    pause_resumes_at: datetime | None = None
    # When a pause this app asked for begins (the end of the paid period): metadata written
    # with the pause (`pause_from`, for the `pause_until` that matches resumes_at), else None.
    pause_from: datetime | None = None
    # Whether any discount (a coupon or a promotion code) is on the subscription.
    discounted: bool = False

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> Subscription:
        """Read a subscription object (latest_invoice may be expanded)."""
        items = (obj.get("items") or {}).get("data") or []
        item = items[0] if items else {}
        price = item.get("price") or {}
        recurring = price.get("recurring") or {}
        latest = obj.get("latest_invoice")
        latest_obj = latest if isinstance(latest, dict) else {}
        amount = int(price.get("unit_amount") or 0) * int(item.get("quantity") or 1)
        currency = (obj.get("currency") or price.get("currency") or "").lower()
        pause = obj.get("pause_collection") or {}
        metadata = _meta(obj)
        return cls(
            id=obj["id"],
            customer=_id(obj.get("customer")) or "",
            status=obj.get("status") or "incomplete",
            price_id=price.get("id"),
            product_id=_id(price.get("product")),
            interval=recurring.get("interval") or "month",
            amount=amount,
            currency=currency,
            started_at=from_unix(obj.get("start_date") or obj.get("created")),
            current_period_start=from_unix(item.get("current_period_start")),
            current_period_end=from_unix(item.get("current_period_end")),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
            canceled_at=from_unix(obj.get("canceled_at")),
            ended_at=from_unix(obj.get("ended_at")),
            trial_end=from_unix(obj.get("trial_end")),
            metadata=metadata,
            latest_invoice_id=_id(latest),
            latest_invoice_status=latest_obj.get("status"),
            latest_invoice_created=from_unix(latest_obj.get("created")),
            cancellation_comment=(obj.get("cancellation_details") or {}).get("comment"),
            cancellation_reason=(obj.get("cancellation_details") or {}).get("reason"),
            recurring_amount=_after_discounts(amount, currency, obj.get("discounts") or []),
            pause_behavior=pause.get("behavior"),
            pause_resumes_at=from_unix(pause.get("resumes_at")),
            pause_from=_pause_from(metadata, pause),
            discounted=bool(obj.get("discounts")),
        )


def _pause_from(metadata: dict[str, str], pause: dict[str, Any]) -> datetime | None:
    """When the pause began, by the metadata this app writes with it; only for the pause it
    was written for (the same resumes_at), so an old note never dates a later pause."""
    start, until = metadata.get("pause_from", ""), metadata.get("pause_until", "")
    if not (start.isdigit() and until.isdigit() and pause.get("behavior")):
        return None
    if int(until) != (pause.get("resumes_at") or 0):
        return None
    return from_unix(int(start))


@dataclass(frozen=True)
class Invoice:
    """A Stripe invoice's state."""

    id: str
    customer: str
    subscription_id: str | None
    subscription_metadata: dict[str, str]
    status: str
    amount_paid: int
    currency: str
    paid_at: datetime | None
    created: datetime
    billing_reason: str | None
    hosted_invoice_url: str | None
    number: str | None
    # What is owed, and how often Stripe tried to take it (a paid invoice with more than one
    # attempt failed before it was paid).
    amount_due: int = 0
    attempt_count: int = 0
    # When it was voided or marked uncollectible (given up), if it was.
    given_up_at: datetime | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> Invoice:
        """Read an invoice object in the current shape (a preview, as invoice.upcoming sends,
        has no id: "")."""
        parent = obj.get("parent") or {}
        details = parent.get("subscription_details") or {}
        transitions = obj.get("status_transitions") or {}
        return cls(
            id=obj.get("id") or "",
            customer=_id(obj.get("customer")) or "",
            subscription_id=_id(details.get("subscription")),
            subscription_metadata={
                str(k): str(v) for k, v in (details.get("metadata") or {}).items()
            },
            status=obj.get("status") or "draft",
            amount_paid=int(obj.get("amount_paid") or 0),
            currency=(obj.get("currency") or "").lower(),
            paid_at=from_unix(transitions.get("paid_at")),
            created=from_unix(obj.get("created")),
            billing_reason=obj.get("billing_reason"),
            hosted_invoice_url=obj.get("hosted_invoice_url"),
            number=obj.get("number"),
            amount_due=int(obj.get("amount_due") or 0),
            attempt_count=int(obj.get("attempt_count") or 0),
            given_up_at=from_unix(
                transitions.get("voided_at") or transitions.get("marked_uncollectible_at")
            ),
        )


@dataclass(frozen=True)
class PaymentIntent:
    """A Stripe payment intent's state."""

    id: str
    status: str
    amount_received: int
    currency: str
    customer: str | None
    latest_charge: str | None
    metadata: dict[str, str]
    created: datetime

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> PaymentIntent:
        """Read a payment intent object."""
        return cls(
            id=obj["id"],
            status=obj.get("status") or "",
            amount_received=int(obj.get("amount_received") or 0),
            currency=(obj.get("currency") or "").lower(),
            customer=_id(obj.get("customer")),
            latest_charge=_id(obj.get("latest_charge")),
            metadata=_meta(obj),
            created=from_unix(obj.get("created")),
        )


@dataclass(frozen=True)
class BalanceTransaction:
    """What a charge, refund or dispute did to the Stripe balance: Stripe's amount and fee, in
    Stripe's (settlement) currency, minor units."""

    id: str
    type: str  # charge, payment, refund, refund_failure, adjustment …
    amount: int
    fee: int
    net: int
    currency: str
    exchange_rate: str | None
    source: str | None
    created: datetime
    # The payment intent behind the source, when the source was expanded (reconciliation).
    source_payment_intent: str | None = None

    @classmethod
    def from_stripe(cls, obj: Any) -> BalanceTransaction | None:
        """Read an (expanded) balance transaction; None for a bare id or nothing."""
        if not isinstance(obj, dict) or not obj.get("id"):
            return None
        rate = obj.get("exchange_rate")
        source = obj.get("source") if isinstance(obj.get("source"), dict) else None
        return cls(
            id=obj["id"],
            type=obj.get("type") or "",
            amount=int(obj.get("amount") or 0),
            fee=int(obj.get("fee") or 0),
            net=int(obj.get("net") or 0),
            currency=(obj.get("currency") or "").lower(),
            exchange_rate=None if rate is None else str(rate),
            source=_id(obj.get("source")),
            created=from_unix(obj.get("created")),
            source_payment_intent=_id((source or {}).get("payment_intent")),
        )


@dataclass(frozen=True)
class Refund:
    """One refund of a charge: pending, requires_action, succeeded, failed or canceled (a
    pending or even a succeeded refund can still fail)."""

    id: str
    amount: int
    currency: str
    status: str
    created: datetime
    charge: str | None = None
    payment_intent: str | None = None
    balance_transaction: BalanceTransaction | None = None  # when expanded
    failure_balance_transaction: BalanceTransaction | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> Refund:
        """Read a refund object."""
        return cls(
            id=obj["id"],
            amount=int(obj.get("amount") or 0),
            currency=(obj.get("currency") or "").lower(),
            status=obj.get("status") or "",
            created=from_unix(obj.get("created")),
            charge=_id(obj.get("charge")),
            payment_intent=_id(obj.get("payment_intent")),
            balance_transaction=BalanceTransaction.from_stripe(obj.get("balance_transaction")),
            failure_balance_transaction=BalanceTransaction.from_stripe(
                obj.get("failure_balance_transaction")
            ),
        )


@dataclass(frozen=True)
class Charge:
    """A charge, with its refunds when they were read."""

    id: str
    payment_intent: str | None
    customer: str | None
    amount: int
    currency: str
    receipt_url: str | None
    created: datetime
    refunds: tuple[Refund, ...] = field(default=())
    balance_transaction_id: str | None = None
    balance_transaction: BalanceTransaction | None = None  # when expanded

    @classmethod
    def from_stripe(cls, obj: dict[str, Any], refunds: list[dict[str, Any]] = ()) -> Charge:
        """Read a charge object (and a list of its refunds)."""
        return cls(
            id=obj["id"],
            payment_intent=_id(obj.get("payment_intent")),
            customer=_id(obj.get("customer")),
            amount=int(obj.get("amount") or 0),
            currency=(obj.get("currency") or "").lower(),
            receipt_url=obj.get("receipt_url"),
            created=from_unix(obj.get("created")),
            refunds=tuple(Refund.from_stripe(r) for r in refunds),
            balance_transaction_id=_id(obj.get("balance_transaction")),
            balance_transaction=BalanceTransaction.from_stripe(obj.get("balance_transaction")),
        )


@dataclass(frozen=True)
class Dispute:
    """A dispute's state."""

    id: str
    charge: str | None
    payment_intent: str | None
    amount: int
    currency: str
    status: str
    created: datetime
    balance_transactions: tuple[BalanceTransaction, ...] = field(default=())

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> Dispute:
        """Read a dispute object."""
        return cls(
            id=obj["id"],
            charge=_id(obj.get("charge")),
            payment_intent=_id(obj.get("payment_intent")),
            amount=int(obj.get("amount") or 0),
            currency=(obj.get("currency") or "").lower(),
            status=obj.get("status") or "",
            created=from_unix(obj.get("created")),
            balance_transactions=tuple(
                t
                for t in map(BalanceTransaction.from_stripe, obj.get("balance_transactions") or [])
                if t is not None
            ),
        )


@dataclass(frozen=True)
class CheckoutSession:
    """A Checkout Session's state."""

    id: str
    url: str | None
    mode: str
    status: str
    payment_status: str
    customer: str | None
    customer_email: str | None
    client_reference_id: str | None
    subscription: str | None
    payment_intent: str | None
    amount_total: int
    currency: str
    metadata: dict[str, str]

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> CheckoutSession:
        """Read a checkout session object."""
        details = obj.get("customer_details") or {}
        return cls(
            id=obj["id"],
            url=obj.get("url"),
            mode=obj.get("mode") or "",
            status=obj.get("status") or "",
            payment_status=obj.get("payment_status") or "",
            customer=_id(obj.get("customer")),
            customer_email=obj.get("customer_email") or details.get("email"),
            client_reference_id=obj.get("client_reference_id"),
            subscription=_id(obj.get("subscription")),
            payment_intent=_id(obj.get("payment_intent")),
            amount_total=int(obj.get("amount_total") or 0),
            currency=(obj.get("currency") or "").lower(),
            metadata=_meta(obj),
        )


@dataclass(frozen=True)
class CompletedCheckout:
    """A completed Checkout Session with what it made: its payment intent (payment mode), or its
    subscription and that subscription's latest invoice (subscription mode), read in one call."""

    session: CheckoutSession
    payment_intent: PaymentIntent | None
    subscription: Subscription | None
    invoice: Invoice | None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> CompletedCheckout:
        """Read a session whose `payment_intent` and `subscription.latest_invoice` are expanded."""
        intent = obj.get("payment_intent")
        subscription = obj.get("subscription")
        latest = subscription.get("latest_invoice") if isinstance(subscription, dict) else None
        return cls(
            session=CheckoutSession.from_stripe(obj),
            payment_intent=PaymentIntent.from_stripe(intent) if isinstance(intent, dict) else None,
            subscription=(
                Subscription.from_stripe(subscription) if isinstance(subscription, dict) else None
            ),
            invoice=Invoice.from_stripe(latest) if isinstance(latest, dict) else None,
        )
