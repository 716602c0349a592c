"""Buying and redeeming gift memberships."""

from __future__ import annotations

import calendar
import logging
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from membership import audit
from membership.accounts.models import User
from membership.accounts.services import AccountError, normalize_email
from membership.billing import origins
from membership.billing import services as billing
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Plan
from membership.billing.stripe_objects import PaymentIntent
from membership.edge import parse_id
from membership.extensions import db
from membership.gifts.models import GIFT_MONTHS, GiftMembership
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.mail import date, host, money, queue_mail
from membership.perks.models import GrantSource, PerkGrant
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

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


def gifts_bought(user_id: int) -> list[GiftMembership]:
    """The gift memberships a reader paid for, newest first (unpaid Checkouts left out)."""
    return list(
        db.session.scalars(
            select(GiftMembership)
            .where(GiftMembership.buyer_id == user_id, GiftMembership.status != "pending")
            .order_by(GiftMembership.created_at.desc(), GiftMembership.id.desc())
        )
    )


def start_gift_checkout(
    plan: Plan, months: int, recipient_email: str, message: str, buyer: User | None,
    buyer_email: str | None, locale: str = "en",
) -> str:  # fmt: skip
    """Create a pending gift and its Checkout Session (payment mode); returns the URL.

    `locale` is the page's language: a buyer without an account gets the receipt in it (it
    travels in the payment's metadata, as the gift row has no place for it)."""
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
    metadata = {"kind": KIND, "gift_id": str(gift.id), "plan": plan.slug,
                "locale": buyer.locale if buyer else locale}  # fmt: skip
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
        "locale": gateway.checkout_locale(metadata["locale"]),
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
    if intent.currency != gift.currency:
        log.error("gift payment %s in %s for a %s gift", intent.id, intent.currency, gift.currency)
        ledger.record_unattributed(
            "payment", "currency", intent.amount_received, stripe_object_id=intent.id,
            currency=intent.currency, status=intent.status, occurred_at=intent.created,
            payment_intent_id=intent.id,
            detail=f"gift membership {gift.id} ({gift.currency.upper()})",
        )  # fmt: skip
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
        "currency": gift.currency.upper(),
        "paid_on": date(intent.created),
        "receipt_number": f"G-{gift.id}",
        "host": host(),
    }
    # Each in the language of the account we know them by; a buyer without one in the page's
    # language they bought in, and a recipient without one in the buyer's.
    buyer_locale = buyer.locale if buyer else _language(intent.metadata.get("locale"))
    queue_mail("gift_received", gift.recipient_email, context, dedupe_key=f"gift-code-{gift.id}",
               locale=recipient.locale if recipient else buyer_locale)  # fmt: skip
    queue_mail("gift_receipt", gift.buyer_email, context, dedupe_key=f"gift-receipt-{gift.id}",
               locale=buyer_locale)  # fmt: skip
    return row is not None


def _language(code: str | None) -> str:
    """A language code from metadata (text anyone may edit): one the site speaks, else English."""
    return code if code in current_app.config["LANGUAGES"] else "en"


def gift_for_intent(intent: PaymentIntent) -> GiftMembership | None:
    """The gift a payment intent paid for, by its metadata."""
    if intent.metadata.get("kind") != KIND:
        return None
    gift_id = parse_id(intent.metadata.get("gift_id"))  # metadata is text anyone may edit
    return db.session.get(GiftMembership, gift_id) if gift_id is not None else None


def resolve_gift_origin(origin: origins.Origin) -> None:
    """Origin resolver: record a gift's payment when its refund arrives first (Stripe was read
    before, in origins.read_origin)."""
    gift = gift_for_intent(origin.payment_intent) if origin.payment_intent else None
    if gift is not None:
        record_payment(gift, origin.payment_intent)


origins.RESOLVERS.append(resolve_gift_origin)


# A gift whose payment was refunded in full, or lost a dispute, is void: its code no longer
# works, and perks already redeemed end when the money went back. A partial refund (a goodwill
# gesture by staff) leaves the gift as it is. A refund that failed or was canceled gives the gift
# back (the ledger nets it), perks included.
REFUNDED, DISPUTED = "refunded", "disputed"
VOID = (REFUNDED, DISPUTED)
GIFT_VOIDED = "gift membership ended: its payment was refunded or disputed"


def _voided(payment: LedgerEntry) -> tuple[str, datetime] | None:
    """Whether (and when) a gift's payment stopped paying for it: a lost dispute, or refunds
    that took back all of it (failed refunds left out)."""
    rows = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.reverses_id == payment.id)
        .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
    )
    net = payment.amount
    for row in ledger.effective_reversals(rows):
        if row.kind == EntryKind.dispute:
            return DISPUTED, row.occurred_at
        net += row.amount
        if net <= 0:
            return REFUNDED, row.occurred_at
    return None


def follow_payment(gift: GiftMembership) -> None:
    """Make the gift follow what its payment's refunds and disputes left of it (ledger rows
    only, so duplicated or reordered events end in the same state)."""
    payment = ledger.payment_for(gift.payment_intent_id)
    if payment is None:
        return
    voided = _voided(payment)
    grants = list(
        db.session.scalars(
            select(PerkGrant).where(
                PerkGrant.source == GrantSource.gift, PerkGrant.source_ref == f"gift-{gift.id}"
            )
        )
    )
    if voided is not None:
        status, at = voided
        if gift.status != status:
            gift.status = status
            audit.record("gift.voided", "gift", gift.id, status=status, at=at.isoformat())
        for grant in grants:
            until = max(at, grant.starts_at)
            if grant.revoked_at is not None and grant.reason != GIFT_VOIDED:
                continue  # revoked by staff already
            if grant.revoked_at != until:
                grant.revoked_at, grant.reason = until, GIFT_VOIDED
                audit.record("perk.gift_ended", "user", grant.user_id, gift=gift.id,
                             until=until.isoformat())  # fmt: skip
    elif gift.status in VOID:
        gift.status = "redeemed" if gift.redeemed_by_id else "paid"
        audit.record("gift.restored", "gift", gift.id, status=gift.status)
        for grant in grants:
            if grant.reason == GIFT_VOIDED:
                grant.revoked_at = None
                grant.reason = f"gift membership: {gift.plan.name}, {gift.months} months"
    db.session.flush()


def _on_new_entry(entry: LedgerEntry) -> None:
    """Ledger hook: a refund, lost dispute or failed refund of a gift's payment."""
    if entry.reverses_id is None or not entry.payment_intent_id:
        return
    gift = db.session.scalar(
        select(GiftMembership)
        .where(GiftMembership.payment_intent_id == entry.payment_intent_id)
        .with_for_update()
    )
    if gift is not None:
        follow_payment(gift)


ledger.ON_NEW_ENTRY.append(_on_new_entry)


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
    if gift.status in VOID:
        raise GiftError(gift.status)
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
