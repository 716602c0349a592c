"""Webhook handlers for gift memberships."""

from __future__ import annotations

from sqlalchemy import select

from membership.billing import stripe_gateway as gateway
from membership.billing.events import data_object, on
from membership.billing.stripe_objects import CheckoutSession
from membership.edge import parse_id
from membership.extensions import db
from membership.gifts.models import GiftMembership
from membership.gifts.services import KIND, gift_for_intent, record_payment


@on("checkout.session.completed", "checkout.session.async_payment_succeeded")
def gift_checkout_completed(event: dict) -> None:
    """A gift's Checkout finished: re-read its payment and record it."""
    session = CheckoutSession.from_stripe(data_object(event))
    if session.metadata.get("kind") != KIND or not session.payment_intent:
        return
    gift = db.session.scalar(
        select(GiftMembership).where(GiftMembership.checkout_session_id == session.id)
    )
    if gift is not None and gift.status != "pending":
        return  # its payment was recorded (with its mails) by the sibling event
    intent = gateway.retrieve_payment_intent(session.payment_intent)
    gift = gift or gift_for_intent(intent)
    if gift is not None:
        record_payment(gift, intent)


@on("payment_intent.succeeded")
def gift_payment_succeeded(event: dict) -> None:
    """The payment may be reported before the session completes: record it either way."""
    obj = data_object(event)
    metadata = obj.get("metadata") or {}
    if metadata.get("kind") != KIND:
        return
    gift_id = parse_id(metadata.get("gift_id"))
    known = db.session.get(GiftMembership, gift_id) if gift_id is not None else None
    if known is not None and known.status != "pending":
        return  # recorded already: no need to ask Stripe again
    intent = gateway.retrieve_payment_intent(obj["id"])
    gift = gift_for_intent(intent)
    if gift is not None:
        record_payment(gift, intent)
