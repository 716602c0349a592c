"""Joining: from a plan's Join button to a Stripe Checkout Session, once per choice; the portal.

Nothing is granted here: the membership appears when Stripe's webhooks say the reader paid.
"""

from __future__ import annotations

import hashlib
import json

from flask import current_app
from sqlalchemy import select

from membership import attribution, audit
from membership.accounts.models import User
from membership.billing import duplicates
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership, Plan, Price
from membership.billing.services import KIND, ensure_product, lock_reader, sync_price
from membership.billing.stripe_objects import CheckoutSession
from membership.extensions import db
from membership.money import MoneyError, to_minor


class CheckoutError(Exception):
    """A join request that cannot go to Checkout; the message is safe to show."""


class AlreadyMember(Exception):
    """The reader has a live membership: send them to the billing portal instead."""


# --- joining ------------------------------------------------------------------------------------


def live_membership(user: User) -> Membership | None:
    """The reader's active, trialing or past-due membership, if any."""
    return db.session.scalar(
        select(Membership)
        .where(Membership.user_id == user.id, Membership.status.in_(Membership.LIVE_STATUSES))
        .order_by(Membership.id.desc())
    )


def ensure_customer(user: User) -> str:
    """The reader's Stripe customer id, created on first need (once, even for two tabs)."""
    if not user.stripe_customer_id:
        # Lock the reader's row (PostgreSQL) and look again: a concurrent first checkout waits
        # here and then finds the customer the other one made.
        lock_reader(user)
    if not user.stripe_customer_id:
        user.stripe_customer_id = gateway.create_customer(user.email, user.name, user.id)
        db.session.flush()
    return user.stripe_customer_id


def checkout_amount(plan: Plan, interval: str, amount: str | None) -> tuple[int, Price | None]:
    """The amount in minor units and the fixed price (None for pay-what-you-want)."""
    if interval not in ("month", "year"):
        raise CheckoutError("interval")
    if plan.pay_what_you_want:
        try:
            minor = to_minor(amount or "", plan.currency, maximum=10_000_000)
        except MoneyError as exc:
            raise CheckoutError("amount") from exc
        minimum = plan.minimum_amount * (12 if interval == "year" else 1)
        if minor < minimum:
            raise CheckoutError("minimum")
        return minor, None
    price = plan.price_for(interval)
    if price is None:
        raise CheckoutError("interval")
    return price.amount, price


def start_checkout(
    user: User, plan: Plan, interval: str, amount: str | None, ref: str = "", touch=None
) -> str:
    """A Checkout Session for a membership (the reader's open one for the same choice, else a
    new one); returns its URL. `touch`: the reader's first touch (membership.attribution), carried
    in the metadata to the membership's first mirror."""
    if not plan.active:
        raise CheckoutError("plan")
    # A double click's second request waits here for the first one's commit, then finds its
    # session below, whichever instance answers it.
    lock_reader(user)
    if live_membership(user) is not None:
        raise AlreadyMember()
    minor, price = checkout_amount(plan, interval, amount)
    customer = ensure_customer(user)
    if price is not None:
        line_item = {"price": price.stripe_price_id or sync_price(price), "quantity": 1}
    else:
        line_item = {
            "quantity": 1,
            "price_data": {
                "currency": plan.currency,
                "unit_amount": minor,
                "recurring": {"interval": interval},
                "product": ensure_product(plan),
            },
        }
    metadata = {"kind": KIND, "user_id": str(user.id), "plan": plan.slug, "ref": ref[:200]}
    metadata |= attribution.for_checkout(user.id, touch or {})
    subscription_data: dict = {"metadata": {**metadata}}
    had_membership = db.session.scalar(select(Membership.id).where(Membership.user_id == user.id))
    if plan.trial_days and had_membership is None:
        subscription_data["trial_period_days"] = plan.trial_days
    base = current_app.config["BASE_URL"]
    params = {
        "mode": "subscription",
        "customer": customer,
        "client_reference_id": str(user.id),
        "line_items": [line_item],
        "metadata": metadata,
        "subscription_data": subscription_data,
        "allow_promotion_codes": True,
        "locale": gateway.checkout_locale(user.locale),
        "success_url": f"{base}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/checkout/cancel?plan={plan.slug}",
    }
    # The same choice (plan, interval, amount, customer, trial, page) while its session is open
    # reuses that session: a double click, or a second look, never opens a second Checkout.
    choice = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    for session in gateway.open_checkout_sessions(customer):
        if session.metadata.get("choice") == choice and session.url:
            return session.url
    metadata["choice"] = choice  # on the session only (subscription_data has its own copy)
    params["metadata"] = {**metadata}
    # Two requests that both found nothing (no row lock on SQLite) share this key within the
    # minute, so Stripe answers the second with the first one's session.
    key = f"checkout-{choice}-{gateway.minute_bucket()}"
    session = gateway.create_checkout_session(params, key)
    audit.record("checkout.started", "user", user.id, actor_id=user.id, plan=plan.slug,
                 interval=interval, amount=minor, session=session.id)  # fmt: skip
    return session.url or ""


def portal_url(user: User) -> str:
    """A billing portal session for the reader."""
    if not user.stripe_customer_id:
        raise CheckoutError("no-customer")
    return gateway.create_portal_session(
        user.stripe_customer_id,
        current_app.config["BASE_URL"] + "/account",
        gateway.checkout_locale(user.locale),
    )


def expire_other_checkouts(paid: CheckoutSession) -> list[str]:
    """A membership Checkout was paid: expire the reader's other open membership Checkouts (the
    yearly tab beside the monthly one), so they cannot be paid too; their ids."""
    if not paid.customer or not duplicates.several_checkouts(
        paid.metadata.get("user_id") or paid.client_reference_id
    ):
        return []
    expired = [
        session.id
        for session in gateway.open_checkout_sessions(paid.customer)
        if session.id != paid.id and session.metadata.get("kind") == KIND
    ]
    for session_id in expired:
        gateway.expire_checkout_session(session_id)
    if expired:
        audit.record("checkout.others_expired", "user", paid.metadata.get("user_id") or "",
                     paid=paid.id, expired=expired)  # fmt: skip
    return expired
