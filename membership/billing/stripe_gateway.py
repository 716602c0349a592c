"""The only module that talks to Stripe. It returns our own dataclasses, passes an idempotency key
on every write, and turns every Stripe error into PaymentProviderError."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import stripe
from flask import current_app

from membership.billing.stripe_objects import (
    Charge,
    CheckoutSession,
    CompletedCheckout,
    Dispute,
    Invoice,
    PaymentIntent,
    Subscription,
)
from membership.timeutil import from_unix


class PaymentProviderError(Exception):
    """Stripe refused or could not be reached; the message is for logs, not readers."""


class PaymentProviderUnreachable(PaymentProviderError):
    """Stripe could not be reached, or did not answer in time (every attempt of the call)."""


class WebhookSignatureError(Exception):
    """A webhook whose signature is missing, wrong, too old or too far ahead."""


class MalformedWebhook(WebhookSignatureError):
    """A correctly signed body that is not a Stripe event (not JSON, or not an object)."""


# Stripe signs with a five-minute tolerance; applied both ways, so that a signature made for
# later (a leaked secret, a clock far ahead) does not open a long replay window.
WEBHOOK_TOLERANCE = 300


def webhook_clock() -> float:
    """Now, for the signature's timestamp (a function, so tests can hold the clock still)."""
    return time.time()


# One Stripe call makes at most this many attempts: the SDK retries a timeout, a refused
# connection, a 409 or a 5xx, with the call's idempotency key, so no retry does anything twice.
ATTEMPTS = 3


def timeouts(budget: float) -> tuple[float, float]:
    """(connect, read) seconds of one attempt: the attempts of one call share `budget`
    (STRIPE_TIMEOUT), a quarter of each attempt to connect and the rest to hear the answer.

    A call's worst case is budget + the SDK's pauses before its retries (0.5 s, then at most
    1 s): 10 + 1.5 = 11.5 s with the default, within the 15 s a page may take (docs/deployment.md).
    """
    attempt = budget / ATTEMPTS
    return attempt / 4, attempt * 3 / 4


def client() -> stripe.StripeClient:
    """A Stripe client for this app's key (and the sandbox's address when configured), whose
    calls give up after STRIPE_TIMEOUT seconds of waiting, retries included."""
    cached = current_app.extensions.get("membership.stripe_client")
    if cached is None:
        config = current_app.config
        options: dict[str, Any] = {
            "max_network_retries": ATTEMPTS - 1,
            "http_client": stripe.RequestsClient(timeout=timeouts(config["STRIPE_TIMEOUT"])),
        }
        if config.get("STRIPE_API_BASE"):
            options["base_addresses"] = {"api": config["STRIPE_API_BASE"]}
        cached = stripe.StripeClient(config["STRIPE_SECRET_KEY"], **options)
        current_app.extensions["membership.stripe_client"] = cached
    return cached


def _failure(exc: stripe.StripeError) -> PaymentProviderError:
    """Our one domain error for a Stripe failure; no answer at all is PaymentProviderUnreachable."""
    message = f"{type(exc).__name__}: {exc.user_message or exc}"
    if isinstance(exc, stripe.APIConnectionError):  # refused, reset, timed out: every attempt
        return PaymentProviderUnreachable(message)
    return PaymentProviderError(message)


def _call(method, *args, **kwargs) -> dict[str, Any]:
    """Call the SDK and return plain JSON; every Stripe failure becomes PaymentProviderError."""
    try:
        result = method(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _failure(exc) from exc
    # Stripe's own JSON as sent: plain types only (to_dict() would hold Decimals).
    response = getattr(result, "last_response", None)
    if response is not None:
        return json.loads(response.body)
    return result.to_dict() if hasattr(result, "to_dict") else result


def _get(path: str, **params: Any) -> dict[str, Any]:
    """GET a Stripe path and return its JSON, skipping the SDK's object building (hot path)."""
    try:
        response = client().raw_request("get", path, **params)
    except stripe.StripeError as exc:
        raise _failure(exc) from exc
    return json.loads(response.body)


def _write(key: str) -> dict[str, Any]:
    """Request options for a write: the idempotency key makes a retried call do nothing twice."""
    return {"idempotency_key": key[:255]}


def verify_webhook(payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check Stripe's signature over the raw body, its timestamp within WEBHOOK_TOLERANCE of now
    in either direction, and parse the event."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not signature or not secret:
        raise WebhookSignatureError("missing signature")
    try:
        text = payload.decode("utf-8")
        # The SDK checks only for stale timestamps; both directions are checked below.
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=None)
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
        raise WebhookSignatureError(str(exc)) from exc
    signed_at = _signed_at(signature)
    if abs(webhook_clock() - signed_at) > WEBHOOK_TOLERANCE:
        raise WebhookSignatureError(f"timestamp outside the tolerance zone ({signed_at})")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:  # nesting deep enough to exhaust the stack
        raise MalformedWebhook("not JSON") from exc
    if not isinstance(event, dict) or not str(event.get("id", "")).startswith("evt_"):
        raise MalformedWebhook("not an event")
    return event


def _signed_at(signature: str) -> int:
    """The timestamp of a header the SDK verified, read the way the SDK reads it (first t=)."""
    items = [item.split("=", 2) for item in signature.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


# --- customers, catalogue ----------------------------------------------------------------


def create_customer(email: str, name: str, user_id: int) -> str:
    """Create the Stripe customer for a reader; returns its id."""
    params = {"email": email, "name": name, "metadata": {"user_id": str(user_id)}}
    # A fresh key per call: the SDK's retries of this call reuse it, and a later call (say, after
    # the customer was deleted in Stripe's dashboard) creates a new customer instead of replaying
    # the deleted one. Two concurrent first checkouts are serialised by the caller's row lock.
    key = f"customer-{user_id}-{uuid.uuid4().hex}"
    obj = _call(client().v1.customers.create, params=params, options=_write(key))
    return obj["id"]


def delete_customer(customer_id: str) -> None:
    """Delete a Stripe customer: its subscriptions end and its personal data goes; charges stay."""
    try:
        client().v1.customers.delete(_safe(customer_id))
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return  # deleted already
        raise PaymentProviderError(str(exc)) from exc
    except stripe.StripeError as exc:
        raise _failure(exc) from exc


def find_product(key: str) -> str | None:
    """The product whose metadata names this catalogue key."""
    for product in _paginate(client().v1.products, {"limit": 100, "active": True}):
        if (product.get("metadata") or {}).get("key") == key:
            return product["id"]
    return None


def upsert_product(product_id: str | None, key: str, name: str, description: str) -> str:
    """Create or update a product for a plan; returns its id."""
    params: dict[str, Any] = {"name": name, "metadata": {"key": key}}
    if description:
        params["description"] = description[:500]
    if product_id:
        return _call(client().v1.products.update, product_id, params=params)["id"]
    return _call(client().v1.products.create, params=params, options=_write(f"product-{key}"))["id"]


def price_by_lookup_key(lookup_key: str) -> dict[str, Any] | None:
    """The active price with this lookup key, as plain JSON."""
    found = _call(
        client().v1.prices.list, params={"lookup_keys": [lookup_key], "active": True, "limit": 1}
    )
    data = found.get("data") or []
    return data[0] if data else None


def create_price(
    product_id: str, lookup_key: str, amount: int, currency: str, interval: str
) -> str:
    """Create a recurring price under a lookup key; returns its id."""
    params = {
        "product": product_id,
        "unit_amount": amount,
        "currency": currency,
        "recurring": {"interval": interval},
        "lookup_key": lookup_key,
        "transfer_lookup_key": True,
    }
    return _call(client().v1.prices.create, params=params, options=_write(f"price-{lookup_key}"))[
        "id"
    ]


# --- checkout and portal ------------------------------------------------------------------


# The `locale` values Stripe's Checkout and billing portal speak, among the app's languages
# (https://docs.stripe.com/js/appendix/supported_locales): not Georgian, Armenian or
# Azerbaijani, for which Stripe is asked for `auto` (it follows the reader's browser).
STRIPE_SPEAKS = frozenset({"en", "ru"})


def checkout_locale(language: str | None) -> str:
    """The `locale` to give Checkout and the billing portal for a reader of `language`."""
    return language if language in STRIPE_SPEAKS else "auto"


def create_checkout_session(params: dict[str, Any], idempotency_key: str) -> CheckoutSession:
    """Create a Checkout Session, always in the currency of its prices.

    Adaptive Pricing (on by default in a Stripe dashboard) would let Checkout charge the reader
    in their local currency; a campaign's totals and a plan's price are in one currency, so
    every session the app creates turns it off.
    """
    params = {**params, "adaptive_pricing": {"enabled": False}}
    obj = _call(
        client().v1.checkout.sessions.create, params=params, options=_write(idempotency_key)
    )
    return CheckoutSession.from_stripe(obj)


def retrieve_checkout_session(session_id: str) -> CheckoutSession:
    """Read a Checkout Session."""
    return CheckoutSession.from_stripe(_call(client().v1.checkout.sessions.retrieve, session_id))


def open_checkout_sessions(customer_id: str) -> list[CheckoutSession]:
    """The customer's Checkout Sessions that can still be paid, newest first."""
    params = {"customer": customer_id, "status": "open", "limit": 100}
    return [
        CheckoutSession.from_stripe(obj) for obj in _paginate(client().v1.checkout.sessions, params)
    ]


def expire_checkout_session(session_id: str) -> CheckoutSession:
    """Expire an open Checkout Session, so it can no longer be paid.

    One that is no longer open (paid meanwhile, or expired already) is returned as it is: the
    caller decides what a paid one means.
    """
    try:
        obj = client().v1.checkout.sessions.expire(
            _safe(session_id), options=_write(f"expire-{session_id}")
        )
    except stripe.InvalidRequestError as exc:
        session = retrieve_checkout_session(session_id)
        if session.status != "open":
            return session
        raise PaymentProviderError(f"{type(exc).__name__}: {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        raise _failure(exc) from exc
    return CheckoutSession.from_stripe(obj.to_dict())


def retrieve_completed_checkout(session_id: str) -> CompletedCheckout:
    """Read a Checkout Session with its payment intent, or subscription and latest invoice."""
    obj = _get(
        f"/v1/checkout/sessions/{_safe(session_id)}",
        expand=["payment_intent", "subscription.latest_invoice"],
    )
    return CompletedCheckout.from_stripe(obj)


def create_portal_session(customer_id: str, return_url: str, locale: str = "auto") -> str:
    """A billing portal session's URL, in `locale` (see checkout_locale)."""
    params = {"customer": customer_id, "return_url": return_url, "locale": locale}
    return _call(client().v1.billing_portal.sessions.create, params=params)["url"]


# --- subscriptions and invoices -----------------------------------------------------------

# What Subscription.from_stripe reads beyond the subscription: the latest invoice's state and
# the coupons behind its discounts (for what a renewal charges).
EXPAND = ["latest_invoice", "discounts.source.coupon"]


def retrieve_subscription(subscription_id: str) -> Subscription:
    """Read a subscription with its latest invoice and its discounts' coupons."""
    obj = _get(f"/v1/subscriptions/{_safe(subscription_id)}", expand=EXPAND)
    return Subscription.from_stripe(obj)


def set_cancel_at_period_end(subscription_id: str, cancel: bool) -> Subscription:
    """Cancel at period end, or resume.

    Each call is a new request of the reader's (cancel, resume, cancel again is three changes),
    so it gets its own key; the SDK's network retries of this one call reuse it.
    """
    obj = _call(
        client().v1.subscriptions.update,
        subscription_id,
        params={"cancel_at_period_end": cancel, "expand": EXPAND},
        options=_write(f"sub-{subscription_id}-cape-{int(cancel)}-{uuid.uuid4().hex}"),
    )
    return Subscription.from_stripe(obj)


def pause_collection(subscription_id: str, paused_from: int, resumes_at: int) -> Subscription:
    """Void the invoices until `resumes_at` (pause_collection, behavior void), noting in the
    metadata when the pause begins; the same pause asked twice is one request to Stripe."""
    params = {
        "pause_collection": {"behavior": "void", "resumes_at": resumes_at},
        "metadata": {"pause_from": str(paused_from), "pause_until": str(resumes_at)},
        "expand": EXPAND,
    }
    key = f"sub-{subscription_id}-pause-{paused_from}-{resumes_at}"
    obj = _call(client().v1.subscriptions.update, _safe(subscription_id), params=params,
                options=_write(key))  # fmt: skip
    return Subscription.from_stripe(obj)


def end_pause(subscription_id: str) -> Subscription:
    """Collect again from now on (pause_collection unset); a new request each time."""
    params = {"pause_collection": "", "metadata": {"pause_from": "", "pause_until": ""},
              "expand": EXPAND}  # fmt: skip
    obj = _call(client().v1.subscriptions.update, _safe(subscription_id), params=params,
                options=_write(f"sub-{subscription_id}-unpause-{uuid.uuid4().hex}"))  # fmt: skip
    return Subscription.from_stripe(obj)


def ensure_coupon(coupon_id: str, percent_off: int, months: int, name: str) -> str:
    """The retention coupon (percent off for `months` months), created once under its own id."""
    try:
        client().v1.coupons.retrieve(_safe(coupon_id))
        return coupon_id
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise _failure(exc) from exc
    except stripe.StripeError as exc:
        raise _failure(exc) from exc
    params = {"id": coupon_id, "percent_off": percent_off, "duration": "repeating",
              "duration_in_months": months, "name": name[:40]}  # fmt: skip
    _call(client().v1.coupons.create, params=params, options=_write(f"coupon-{coupon_id}"))
    return coupon_id


def apply_coupon(subscription_id: str, coupon_id: str) -> Subscription:
    """Put a coupon on a subscription (its next invoices are discounted); once per pair."""
    params = {"discounts": [{"coupon": coupon_id}], "expand": EXPAND}
    obj = _call(client().v1.subscriptions.update, _safe(subscription_id), params=params,
                options=_write(f"sub-{subscription_id}-coupon-{coupon_id}"))  # fmt: skip
    return Subscription.from_stripe(obj)


def cancel_subscription(subscription_id: str, comment: str) -> Subscription:
    """Cancel a subscription at once (no proration credit), noting why; its new state.

    Stripe treats a DELETE as idempotent by itself (a second one answers that the subscription
    is canceled already) and ignores the key; it is sent all the same, as on every write.
    """
    _call(
        client().v1.subscriptions.cancel,
        _safe(subscription_id),
        params={"cancellation_details": {"comment": comment[:500]}},
        options=_write(f"sub-{subscription_id}-cancel"),
    )
    return retrieve_subscription(subscription_id)


def live_subscriptions(customer_id: str) -> list[Subscription]:
    """The customer's subscriptions that are not canceled (any kind), newest first."""
    params = {"customer": customer_id, "limit": 100}
    return [Subscription.from_stripe(o) for o in _paginate(client().v1.subscriptions, params)]


def paid_invoice_payments(subscription_id: str) -> list[tuple[str, str, datetime | None]]:
    """(invoice id, payment intent id, paid at) for each paid invoice of a subscription."""
    out = []
    params = {"subscription": subscription_id, "status": "paid", "limit": 100}
    for invoice in _paginate(client().v1.invoices, params):
        found = _call(
            client().v1.invoice_payments.list,
            params={"invoice": invoice["id"], "status": "paid", "limit": 10},
        )
        for payment in found.get("data") or []:
            intent = (payment.get("payment") or {}).get("payment_intent")
            if intent:
                paid_at = from_unix((invoice.get("status_transitions") or {}).get("paid_at"))
                out.append((invoice["id"], _id_of(intent), paid_at))
    return out


def retrieve_invoice(invoice_id: str) -> Invoice:
    """Read an invoice."""
    return Invoice.from_stripe(_get(f"/v1/invoices/{_safe(invoice_id)}"))


def invoice_for_payment_intent(payment_intent_id: str) -> str | None:
    """The invoice a payment intent paid, if it paid one."""
    found = _call(
        client().v1.invoice_payments.list,
        params={"payment": {"type": "payment_intent", "payment_intent": payment_intent_id}},
    )
    data = found.get("data") or []
    if not data:
        return None
    invoice = data[0].get("invoice")
    return invoice.get("id") if isinstance(invoice, dict) else invoice


# --- payments, refunds, disputes ----------------------------------------------------------


def retrieve_payment_intent(payment_intent_id: str) -> PaymentIntent:
    """Read a payment intent."""
    return PaymentIntent.from_stripe(_get(f"/v1/payment_intents/{_safe(payment_intent_id)}"))


def retrieve_charge(charge_id: str) -> Charge:
    """Read a charge and every refund of it, each with its balance transaction (the fee)."""
    expand = {"expand": ["balance_transaction"]}
    obj = _call(client().v1.charges.retrieve, charge_id, params=expand)
    params = {"charge": charge_id, "limit": 100}
    params["expand"] = ["data.balance_transaction", "data.failure_balance_transaction"]
    refunds = list(_paginate(client().v1.refunds, params))
    return Charge.from_stripe(obj, refunds)


def retrieve_dispute(dispute_id: str) -> Dispute:
    """Read a dispute."""
    return Dispute.from_stripe(_get(f"/v1/disputes/{_safe(dispute_id)}"))


def refund_payment_intent(payment_intent_id: str, amount: int | None, key: str) -> str:
    """Refund a payment (all of it when amount is None); returns the refund id."""
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    return _call(client().v1.refunds.create, params=params, options=_write(key))["id"]


def retrieve_event(event_id: str) -> dict[str, Any]:
    """Read an event as plain JSON (for replay)."""
    return _call(client().v1.events.retrieve, event_id)


# --- helpers ------------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    """An id from a field that is either an id or an expanded object."""
    return value.get("id") if isinstance(value, dict) else value


def _safe(object_id: str) -> str:
    """An id fit for a URL path: Stripe ids are letters, digits and underscores."""
    if not object_id or not all(ch.isalnum() or ch == "_" for ch in object_id):
        raise PaymentProviderError(f"not a Stripe id: {object_id!r}")
    return object_id


def _id_of(value: Any) -> str:
    """An id from a field that is either an id or an expanded object."""
    return value["id"] if isinstance(value, dict) else value


def _paginate(service, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object of a list endpoint, page by page."""
    params = dict(params)
    while True:
        page = _call(service.list, params=params)
        data = page.get("data") or []
        yield from data
        if not page.get("has_more") or not data:
            return
        params["starting_after"] = data[-1]["id"]


def minute_bucket() -> int:
    """The current minute: requests alike within it share an idempotency key."""
    return int(time.time() // 60)
