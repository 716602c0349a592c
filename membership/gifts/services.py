"""Buying and redeeming gift memberships."""

from __future__ import annotations

import calendar
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from membership import audit
from membership.accounts.models import User
from membership.accounts.services import AccountError, normalize_email
from membership.billing import services as billing
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Plan
from membership.billing.stripe_objects import PaymentIntent
from membership.extensions import db
from membership.gifts.models import GIFT_MONTHS, GiftMembership
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind
from membership.mail import money, queue_mail
from membership.perks.models import GrantSource, PerkGrant
from membership.timeutil import utcnow

KIND = "gift_membership"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand


class GiftError(Exception):
    """A gift request that cannot be done; the message is a short key the view translates."""


def add_months(start: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def new_code() -> str:
    """A random code such as GIFT-7KQ2-M9XD-4HPT (60 bits)."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"GIFT-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalize_code(raw: str) -> str:
    """Accept codes typed with spaces, lower case or without the prefix."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    cleaned = cleaned.removeprefix("GIFT")
    if len(cleaned) != 12:
        return ""
    return f"GIFT-{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"


def giftable_plans() -> list[Plan]:
    """Active plans with a monthly price (pay-what-you-want plans are not sold as gifts)."""
    plans = db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.position))
    return [p for p in plans if not p.pay_what_you_want and p.price_for("month")]


def start_gift_checkout(
    plan: Plan, months: int, recipient_email: str, message: str, buyer: User | None,
    buyer_email: str | None,
) -> str:  # fmt: skip
    """Create a pending gift and its Checkout Session (payment mode); returns the URL."""
    if months not in GIFT_MONTHS:
        raise GiftError("months")
    if plan not in giftable_plans():
        raise GiftError("plan")
    try:
        recipient = normalize_email(recipient_email)
        email = buyer.email if buyer else normalize_email(buyer_email or "")
    except AccountError as exc:
        raise GiftError("email") from exc
    monthly = plan.price_for("month")
    gift = GiftMembership(
        code=new_code(),
        plan_id=plan.id,
        months=months,
        amount=monthly.amount * months,
        currency=monthly.currency,
        buyer_id=buyer.id if buyer else None,
        buyer_email=email,
        recipient_email=recipient,
        message=message.strip()[:500],
    )
    db.session.add(gift)
    db.session.flush()
    metadata = {"kind": KIND, "gift_id": str(gift.id), "plan": plan.slug}
    base = current_app.config["BASE_URL"]
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": gift.currency,
                    "unit_amount": gift.amount,
                    "product": billing.ensure_product(plan),
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": f"{base}/gift/thanks",
        "cancel_url": f"{base}/gift",
    }
    if buyer and buyer.stripe_customer_id:
        params["customer"] = buyer.stripe_customer_id
    else:
        params["customer_email"] = email
    if buyer:
        params["client_reference_id"] = str(buyer.id)
    session = gateway.create_checkout_session(params, f"gift-{gift.id}")
    gift.checkout_session_id = session.id
    audit.record("gift.started", "gift", gift.id, actor_id=buyer.id if buyer else None,
                 plan=plan.slug, months=months)  # fmt: skip
    return session.url or ""


def record_payment(gift: GiftMembership, intent: PaymentIntent) -> bool:
    """Mark a gift paid from its succeeded payment intent: ledger row and mails, once."""
    if intent.status != "succeeded" or intent.amount_received <= 0:
        return False
    gift.payment_intent_id = intent.id
    if gift.status == "pending":
        gift.status = "paid"
        gift.paid_at = intent.created
    row = ledger.record(
        EntryKind.membership,
        intent.amount_received,
        intent.currency,
        intent.id,
        intent.created,
        user_id=gift.buyer_id,
        payment_intent_id=intent.id,
        description=f"Gift: {gift.plan.name}, {gift.months} months",
    )
    base = current_app.config["BASE_URL"]
    buyer = db.session.get(User, gift.buyer_id) if gift.buyer_id else None
    recipient = db.session.scalar(select(User).where(User.email == gift.recipient_email))
    context = {
        "plan": gift.plan.name,
        "months": gift.months,
        "code": gift.code,
        "message": gift.message,
        "from_email": gift.buyer_email,
        "from_name": buyer.name if buyer else "",
        "recipient_email": gift.recipient_email,
        "redeem_url": f"{base}/gift/redeem?code={gift.code}",
        "amount": money(gift.amount, gift.currency),
    }
    # Each in the language of the account we know them by (the buyer's for a stranger).
    buyer_locale = buyer.locale if buyer else "en"
    queue_mail("gift_received", gift.recipient_email, context, dedupe_key=f"gift-code-{gift.id}",
               locale=recipient.locale if recipient else buyer_locale)  # fmt: skip
    queue_mail("gift_receipt", gift.buyer_email, context, dedupe_key=f"gift-receipt-{gift.id}",
               locale=buyer_locale)  # fmt: skip
    return row is not None


def gift_for_intent(intent: PaymentIntent) -> GiftMembership | None:
    """The gift a payment intent paid for, by its metadata."""
    if intent.metadata.get("kind") != KIND:
        return None
    gift_id = intent.metadata.get("gift_id", "")
    return db.session.get(GiftMembership, int(gift_id)) if gift_id.isdigit() else None


def resolve_gift_payment(payment_intent_id: str) -> None:
    """Ledger origin resolver: record a gift's payment when its refund arrives first."""
    intent = gateway.retrieve_payment_intent(payment_intent_id)
    gift = gift_for_intent(intent)
    if gift is not None:
        record_payment(gift, intent)


ledger.ORIGIN_RESOLVERS.append(resolve_gift_payment)


def redeem(code: str, user: User) -> GiftMembership:
    """Open the gift's perks for `months` from now for the reader; a code works once."""
    normalized = normalize_code(code)
    gift = db.session.scalar(
        select(GiftMembership).where(GiftMembership.code == normalized).with_for_update()
    )
    if gift is None or not normalized:
        raise GiftError("unknown")
    if gift.status == "redeemed":
        raise GiftError("used")
    if gift.status != "paid":
        raise GiftError("unpaid")
    now = utcnow()
    ends = add_months(now, gift.months)
    for perk in gift.plan.perks:
        db.session.add(
            PerkGrant(
                user_id=user.id, perk_id=perk.id, source=GrantSource.gift,
                source_ref=f"gift-{gift.id}", starts_at=now, ends_at=ends,
                reason=f"gift membership: {gift.plan.name}, {gift.months} months",
            )
        )  # fmt: skip
    gift.status = "redeemed"
    gift.redeemed_by_id = user.id
    gift.redeemed_at = now
    audit.record("gift.redeemed", "user", user.id, actor_id=user.id, gift=gift.id,
                 until=ends.isoformat())  # fmt: skip
    db.session.flush()
    return gift
