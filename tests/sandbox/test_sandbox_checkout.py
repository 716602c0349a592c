"""Checkout in both modes: events in Stripe's order, the hosted page, test cards, promotions."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox.errors import StripeError


def _in_order(types: list[str], expected: list[str]) -> bool:
    """True when ``expected`` appears in ``types`` as an ordered subsequence."""
    it = iter(types)
    return all(t in it for t in expected)


def test_sandbox_payment_mode_checkout(client, sandbox, receiver):
    """A one-off donation: PI metadata from payment_intent_data, events in Stripe's order."""
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "payment", "customer_creation": "always", "client_reference_id": "user-7",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": "eur", "unit_amount": 2500, "product_data": {"name": "Donation"}}}],
            "payment_intent_data": {"metadata": {"fundraiser": "42"}},
            "metadata": {"kind": "donation"},
            "success_url": "https://n.example/thanks?s={CHECKOUT_SESSION_ID}",
        },
        options={"idempotency_key": "donate-1"},
    )  # fmt: skip
    assert sess.status == "open" and sess.url.startswith(sandbox.url)
    assert sess.payment_intent is None and sess.amount_total == 2500
    done = sandbox.complete_checkout(sess.id, card="4242 4242 4242 4242", email="d@x.example")
    assert done["payment_status"] == "paid" and done["customer_details"]["email"] == "d@x.example"
    pi = client.v1.payment_intents.retrieve(done["payment_intent"], params={
        "expand": ["latest_charge"]})  # fmt: skip
    assert pi.status == "succeeded" and pi.metadata["fundraiser"] == "42"
    assert pi.latest_charge.paid and pi.latest_charge.receipt_url.startswith(sandbox.url)
    assert sandbox.wait_for_deliveries(5)
    assert receiver.bad_signatures == 0
    assert _in_order(receiver.types(), [
        "customer.created", "payment_intent.created", "payment_intent.succeeded",
        "charge.succeeded", "checkout.session.completed"])  # fmt: skip
    completed = next(
        r["raw"] for r in receiver.received if r["raw"]["type"] == "checkout.session.completed"
    )
    obj = completed["data"]["object"]
    assert obj["client_reference_id"] == "user-7" and obj["metadata"] == {"kind": "donation"}
    line = client.v1.checkout.sessions.line_items.list(sess.id).data[0]
    assert line.description == "Donation" and line.amount_total == 2500


def test_sandbox_subscription_mode_checkout_events(client, sandbox, receiver, monthly,
                                                    subscription_session):  # fmt: skip
    """Subscription checkout sends the events Stripe sends, in Stripe's order."""
    sess = subscription_session(monthly.id, customer_email="m@x.example",
                                subscription_data={"metadata": {"user_id": "9"}},
                                client_reference_id="9")  # fmt: skip
    sandbox.complete_checkout(sess.id)
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert _in_order(types, [
        "customer.created", "customer.updated", "invoice.created", "invoice.finalized",
        "customer.subscription.created", "invoice_payment.paid", "invoice.paid",
        "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded",
        "customer.subscription.updated", "checkout.session.completed"])  # fmt: skip
    raw = {r["raw"]["type"]: r["raw"] for r in receiver.received}
    updated = raw["customer.subscription.updated"]
    assert updated["data"]["previous_attributes"] == {"status": "incomplete"}
    assert updated["data"]["object"]["status"] == "active"
    assert raw["customer.subscription.created"]["data"]["object"]["status"] == "incomplete"
    inv = raw["invoice.paid"]["data"]["object"]
    assert inv["billing_reason"] == "subscription_create" and inv["amount_paid"] == 500
    assert inv["parent"]["subscription_details"]["metadata"] == {"user_id": "9"}
    assert inv["status_transitions"]["paid_at"]
    for event in raw.values():
        assert event["livemode"] is False and event["api_version"] == "2026-10-28.endive"
        assert set(event["request"]) == {"id", "idempotency_key"}
    full = client.v1.checkout.sessions.retrieve(
        sess.id, params={"expand": ["subscription", "line_items"]}
    )
    assert full.subscription.metadata["user_id"] == "9"
    assert full.line_items.data[0].price.id == monthly.id
    assert full.customer_details.email == "m@x.example"


def test_sandbox_trial_checkout(client, sandbox, monthly, subscription_session):
    """A trial starts ``trialing`` with a zero, paid invoice and no payment intent."""
    sess = subscription_session(monthly.id, subscription_data={"trial_period_days": 14})
    done = sandbox.complete_checkout(sess.id, email="t@x.example")
    assert done["payment_status"] == "no_payment_required"
    sub = client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "trialing" and sub.trial_end - sub.trial_start == 14 * 86400
    assert sub["items"].data[0].current_period_end == sub.trial_end
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.status == "paid" and inv.amount_due == 0
    assert client.v1.invoice_payments.list(params={"invoice": inv.id}).data == []


@pytest.mark.parametrize(
    ("card", "code"),
    [("4000000000000002", "generic_decline"), ("4000 0000 0000 9995", "insufficient_funds")],
)
def test_sandbox_declined_cards(client, sandbox, monthly, subscription_session, card, code):
    """Declined test cards raise card errors and leave the session open for a retry."""
    sess = subscription_session(monthly.id)
    with pytest.raises(StripeError) as exc:
        sandbox.complete_checkout(sess.id, card=card, email="x@x.example")
    assert exc.value.status == 402 and exc.value.decline_code == code
    assert client.v1.checkout.sessions.retrieve(sess.id).status == "open"
    assert client.v1.subscriptions.list().data == []
    sandbox.complete_checkout(sess.id, card="4242424242424242", email="x@x.example")
    assert client.v1.checkout.sessions.retrieve(sess.id).status == "complete"


def test_sandbox_invalid_card_number(sandbox, monthly, subscription_session):
    """Anything but a known test card is refused as an incorrect number."""
    sess = subscription_session(monthly.id)
    with pytest.raises(StripeError, match="card number is incorrect"):
        sandbox.complete_checkout(sess.id, card="1234 5678 9012 3456", email="x@x.example")


def test_sandbox_checkout_validation(client, monthly):
    """Stripe's rules: mode/price agreement, customer vs customer_email, required URLs."""
    with pytest.raises(stripe.InvalidRequestError, match="recurring price"):
        client.v1.checkout.sessions.create(params={
            "mode": "payment", "success_url": "https://n.example",
            "line_items": [{"price": monthly.id, "quantity": 1}]})  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError, match="success_url"):
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": monthly.id}]})  # fmt: skip
    cus = client.v1.customers.create(params={"email": "a@x.example"})
    with pytest.raises(stripe.InvalidRequestError, match="customer_email"):
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "success_url": "https://n.example", "customer": cus.id,
            "customer_email": "b@x.example", "line_items": [{"price": monthly.id}]})  # fmt: skip


def test_sandbox_expire_session(client, sandbox, receiver, monthly, subscription_session):
    """Expiry by API and by the clock both send checkout.session.expired."""
    a = subscription_session(monthly.id)
    b = subscription_session(monthly.id)
    assert client.v1.checkout.sessions.expire(a.id).status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(a.id)
    sandbox.advance_clock(seconds=86401)
    assert client.v1.checkout.sessions.retrieve(b.id).status == "expired"
    assert sandbox.wait_for_deliveries(5)
    assert receiver.types().count("checkout.session.expired") == 2
    listed = client.v1.checkout.sessions.list(params={"status": "expired"})
    assert {s.id for s in listed.data} == {a.id, b.id}


def test_sandbox_promotion_code_discount(client, sandbox, monthly, subscription_session):
    """A promotion code typed at checkout discounts the first invoice (duration once)."""
    coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon",
                                                           "coupon": coupon.id},
                                             "code": "WELCOME"})  # fmt: skip
    sess = subscription_session(monthly.id, allow_promotion_codes=True)
    done = sandbox.complete_checkout(sess.id, email="p@x.example", promotion_code="welcome")
    assert done["amount_total"] == 400 and done["total_details"]["amount_discount"] == 100
    inv = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(
        done["subscription"]).latest_invoice)  # fmt: skip
    assert inv.amount_paid == 400
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    sandbox.advance_clock(seconds=32 * 86400)
    renewal = client.v1.invoices.list(params={"subscription": done["subscription"]}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.amount_paid == 500


def test_sandbox_checkout_page_flow(client, sandbox, monthly, http, subscription_session):
    """GET renders; declined POST shows the error; good card redirects 303; cancel redirects."""
    evil = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 1250, "recurring": {"interval": "year"},
        "product_data": {"name": "<script>alert(1)</script>"}})  # fmt: skip
    sess = subscription_session(evil.id, allow_promotion_codes=True)
    status, _, page = http("GET", sess.url)
    assert status == 200
    assert "Sandbox payments: no real money" in page and "€12.50" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<input id=email name=email type=email required" in page
    assert "promotion_code" in page
    status, _, page = http(
        "POST", sess.url, {"email": "pg@x.example", "card": "4000 0000 0000 0002", "action": "pay"}
    )
    assert status == 402 and "Your card was declined." in page
    status, headers, _ = http(
        "POST", sess.url, {"email": "pg@x.example", "card": "4242 4242 4242 4242", "action": "pay"}
    )
    assert status == 303
    assert headers["Location"] == f"https://news.example/thanks?session_id={sess.id}"
    assert client.v1.checkout.sessions.retrieve(sess.id).status == "complete"
    other = subscription_session(monthly.id)
    status, headers, _ = http("POST", other.url, {"action": "cancel"})
    assert status == 303 and headers["Location"] == "https://news.example/join"
    status, _, _ = http("GET", f"{sandbox.url}/c/pay/cs_test_nope")
    assert status == 404
