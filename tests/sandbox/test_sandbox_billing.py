"""The test clock: renewals paid and failed, retries, trials, cancellation, refunds, disputes."""

from __future__ import annotations

import json

import pytest
import stripe

from stripe_sandbox.errors import StripeError as SandboxError
from stripe_sandbox.testing import running_sandbox

DAY = 86400


@pytest.fixture
def member(client, sandbox, monthly, subscription_session):
    """Subscribe a reader through Checkout: ``member(card) -> subscription id``."""

    def subscribe(card: str = "4242424242424242") -> str:
        sess = subscription_session(monthly.id, subscription_data={"metadata": {"u": "1"}})
        return sandbox.complete_checkout(sess.id, card=card, email="m@x.example")["subscription"]

    return subscribe


def test_sandbox_renewal_paid(client, sandbox, receiver, member):
    """At period end a subscription_cycle invoice is paid with the saved card."""
    sub_id = member()
    sub = client.v1.subscriptions.retrieve(sub_id)
    end = sub["items"].data[0].current_period_end
    sandbox.advance_clock(to=end + 60)
    assert sandbox.now() >= end + 60
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "active" and sub["items"].data[0].current_period_start == end
    invoices = client.v1.invoices.list(params={"subscription": sub_id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle", "subscription_create"]
    assert invoices[0].status == "paid" and invoices[0].created == end
    assert sandbox.wait_for_deliveries(5)
    renewal = [r["raw"] for r in receiver.received if r["raw"]["created"] >= end]
    types = [e["type"] for e in renewal]
    assert types[:3] == ["customer.subscription.updated", "invoice.created", "invoice.finalized"]
    assert "invoice.paid" in types and "invoice.payment_failed" not in types
    prev = renewal[0]["data"]["previous_attributes"]
    assert prev["items"]["data"][0]["current_period_end"] == end


def test_sandbox_renewal_fails_then_cancels(client, sandbox, receiver, member):
    """Card 0341 pays at checkout, fails every renewal: past_due, retries, then canceled."""
    sub_id = member("4000 0000 0000 0341")
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "active"
    end = sub["items"].data[0].current_period_end
    sandbox.advance_clock(to=end + 60)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "past_due"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.status == "open" and inv.attempt_count == 1
    assert inv.next_payment_attempt == end + 3 * DAY
    sandbox.advance_clock(to=end + 16 * DAY)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "canceled" and sub.ended_at is not None
    assert sub.cancellation_details.reason == "payment_failed"
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 4
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert types.count("invoice.payment_failed") == 4
    assert "payment_intent.payment_failed" in types
    assert types[-1] == "customer.subscription.deleted"


def test_sandbox_portal_card_update_recovers(client, sandbox, receiver, member, http):
    """After a failed renewal, a new card in the portal pays the invoice: back to active."""
    sub_id = member("4000000000000341")
    sub = client.v1.subscriptions.retrieve(sub_id)
    sandbox.advance_clock(to=sub["items"].data[0].current_period_end + 60)
    assert client.v1.subscriptions.retrieve(sub_id).status == "past_due"
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "return_url": "https://n.example/account"}
    )
    status, _, page = http("GET", portal.url)
    assert status == 200 and "past due" in page and "https://n.example/account" in page
    assert "Sandbox payments: no real money" in page
    status, headers, _ = http("POST", portal.url, {"action": "card", "card": "4242424242424242"})
    assert status == 303 and headers["Location"].startswith(portal.url)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "active"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    cus = client.v1.customers.retrieve(sub.customer, params={
        "expand": ["invoice_settings.default_payment_method"]})  # fmt: skip
    assert cus.invoice_settings.default_payment_method.card.last4 == "4242"
    assert sandbox.wait_for_deliveries(5)
    assert receiver.types()[-1] == "customer.subscription.updated"


def test_sandbox_portal_cancel_resume_switch(client, sandbox, member, monthly, http):
    """Portal: cancel at period end, resume, and switch to another price in the same currency."""
    yearly = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 5000, "recurring": {"interval": "year"},
        "product": monthly.product})  # fmt: skip
    client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"},
        "product": monthly.product})  # fmt: skip
    sub_id = member()
    cus = client.v1.subscriptions.retrieve(sub_id).customer
    portal = client.v1.billing_portal.sessions.create(params={"customer": cus})
    _, _, page = http("GET", portal.url)
    assert yearly.id in page and "USD" not in page
    http("POST", portal.url, {"action": "cancel", "subscription": sub_id})
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.cancel_at_period_end and sub.cancel_at == sub["items"].data[0].current_period_end
    http("POST", portal.url, {"action": "resume", "subscription": sub_id})
    assert not client.v1.subscriptions.retrieve(sub_id).cancel_at_period_end
    http("POST", portal.url, {"action": "switch", "subscription": sub_id, "price": yearly.id})
    assert client.v1.subscriptions.retrieve(sub_id)["items"].data[0].price.id == yearly.id


def test_sandbox_cancel_at_period_end_via_api(client, sandbox, receiver, member):
    """cancel_at_period_end ends the subscription at period end with subscription.deleted."""
    sub_id = member()
    sub = client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    assert sub.status == "active" and sub.canceled_at is not None
    sandbox.advance_clock(to=sub["items"].data[0].current_period_end + 1)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "canceled" and sub.ended_at == sub["items"].data[0].current_period_end
    assert len(client.v1.invoices.list(params={"subscription": sub_id}).data) == 1
    assert sandbox.wait_for_deliveries(5)
    raw = [r["raw"] for r in receiver.received]
    upd = next(e for e in raw if e["type"] == "customer.subscription.updated"
               and "cancel_at_period_end" in e["data"]["previous_attributes"])  # fmt: skip
    assert upd["data"]["previous_attributes"]["cancel_at_period_end"] is False
    assert raw[-1]["type"] == "customer.subscription.deleted"


def test_sandbox_trial_ends_into_paid_period(client, sandbox, monthly, subscription_session):
    """When a trial ends the subscription turns active with a paid subscription_cycle invoice."""
    sess = subscription_session(monthly.id, subscription_data={"trial_period_days": 7})
    sub_id = sandbox.complete_checkout(sess.id, email="t@x.example")["subscription"]
    sandbox.advance_clock(seconds=8 * DAY)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "active"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.billing_reason == "subscription_cycle" and inv.amount_paid == 500


def test_sandbox_api_subscription_update_and_cancel(client, sandbox, member, monthly):
    """Price change with always_invoice bills a subscription_update; DELETE cancels now."""
    dearer = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 1500, "recurring": {"interval": "month"},
        "product": monthly.product})  # fmt: skip
    sub_id = member()
    sub = client.v1.subscriptions.retrieve(sub_id)
    item = sub["items"].data[0]
    sub = client.v1.subscriptions.update(sub_id, params={
        "items": [{"id": item.id, "price": dearer.id}], "proration_behavior": "always_invoice",
        "metadata": {"tier": "gold"}, "pause_collection": {"behavior": "void"}})  # fmt: skip
    assert sub["items"].data[0].price.id == dearer.id and sub.metadata["tier"] == "gold"
    assert sub.pause_collection.behavior == "void"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.billing_reason == "subscription_update" and 0 < inv.amount_paid <= 1000
    sub = client.v1.subscriptions.cancel(sub_id)
    assert sub.status == "canceled" and sub.canceled_at == sub.ended_at
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})


def test_sandbox_refunds(client, sandbox, receiver):
    """Partial then full refunds by payment intent and charge; over-refunds are refused."""
    sess = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://n.example/ok", "line_items": [{
            "quantity": 1, "price_data": {"currency": "eur", "unit_amount": 3000,
                                          "product_data": {"name": "Gift"}}}]})  # fmt: skip
    pi_id = sandbox.complete_checkout(sess.id, email="g@x.example")["payment_intent"]
    r1 = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 1000})
    assert r1.status == "succeeded" and r1.amount == 1000
    charge = client.v1.charges.retrieve(r1.charge)
    assert charge.amount_refunded == 1000 and not charge.refunded
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded"):
        client.v1.refunds.create(params={"charge": charge.id, "amount": 5000})
    client.v1.refunds.create(params={"charge": charge.id})
    assert client.v1.charges.retrieve(charge.id).refunded
    assert len(client.v1.refunds.list(params={"payment_intent": pi_id}).data) == 2
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert types.count("charge.refunded") == 2 and types.count("refund.created") == 2
    assert types.index("charge.refunded") < types.index("refund.created")


def _paid_intent(client, sandbox, card: str) -> str:
    sess = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://n.example/ok", "line_items": [{
            "quantity": 1, "price_data": {"currency": "eur", "unit_amount": 3000,
                                          "product_data": {"name": "Gift"}}}]})  # fmt: skip
    return sandbox.complete_checkout(sess.id, card=card, email="g@x.example")["payment_intent"]


def test_sandbox_refunds_can_stay_pending_then_fail_or_be_canceled(client, sandbox, receiver):
    """Card 7726's refunds start pending; a pending refund can fail or be canceled, and its
    money is back on the charge; refund.updated and charge.refund.updated say so."""
    pi_id = _paid_intent(client, sandbox, "4000000000007726")
    first = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 1000})
    second = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 500})
    assert (first.status, second.status) == ("pending", "pending")
    assert client.v1.charges.retrieve(first.charge).amount_refunded == 1500
    assert sandbox.move_refund(first.id, "failed")["status"] == "failed"
    assert sandbox.move_refund(second.id, "canceled")["status"] == "canceled"
    charge = client.v1.charges.retrieve(first.charge)
    assert charge.amount_refunded == 0 and not charge.refunded
    assert client.v1.refunds.retrieve(first.id).failure_reason == "expired_or_canceled_card"
    with pytest.raises(SandboxError, match="cannot become"):
        sandbox.move_refund(first.id, "succeeded")
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert types.count("refund.updated") == 2 and types.count("charge.refund.updated") == 2
    assert types.count("refund.failed") == 1


def test_sandbox_refund_states_move_with_the_clock(client, sandbox, receiver):
    """Card 7726: pending, succeeded a day later. Card 5126: succeeded, failed a day later."""
    pending = client.v1.refunds.create(
        params={"payment_intent": _paid_intent(client, sandbox, "4000000000007726")}
    )
    failing = client.v1.refunds.create(
        params={"payment_intent": _paid_intent(client, sandbox, "4000000000005126")}
    )
    assert (pending.status, failing.status) == ("pending", "succeeded")
    sandbox.advance_clock(seconds=DAY + 1)
    assert client.v1.refunds.retrieve(pending.id).status == "succeeded"
    assert client.v1.refunds.retrieve(failing.id).status == "failed"
    assert client.v1.charges.retrieve(pending.charge).refunded
    assert client.v1.charges.retrieve(failing.charge).amount_refunded == 0


def test_sandbox_checkout_takes_adaptive_pricing(client, sandbox):
    """Checkout's `adaptive_pricing[enabled]` is accepted and shown on the session."""
    sess = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://n.example/ok",
        "adaptive_pricing": {"enabled": False}, "line_items": [{
            "quantity": 1, "price_data": {"currency": "eur", "unit_amount": 3000,
                                          "product_data": {"name": "Gift"}}}]})  # fmt: skip
    assert client.v1.checkout.sessions.retrieve(sess.id).adaptive_pricing.enabled is False


def test_sandbox_disputes(client, sandbox, receiver, member):
    """Card 0259 is disputed by itself; a dispute can be closed won or lost."""
    sub_id = member("4000000000000259")
    disputes = client.v1.disputes.list().data
    assert len(disputes) == 1 and disputes[0].reason == "fraudulent"
    assert disputes[0].status == "needs_response"
    charge = client.v1.charges.retrieve(disputes[0].charge)
    assert charge.disputed and charge.customer == client.v1.subscriptions.retrieve(
        sub_id).customer  # fmt: skip
    closed = sandbox.close_dispute(disputes[0].id, outcome="lost")
    assert closed["status"] == "lost"
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert types.index("checkout.session.completed") < types.index("charge.dispute.created")
    assert types[-1] == "charge.dispute.closed"


def test_sandbox_state_file_survives_restart(tmp_path):
    """A restarted sandbox with the same state file remembers objects and the clock."""
    state = tmp_path / "sandbox.json"
    with running_sandbox(state_file=str(state)) as sb:
        c = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sb.url},
                                max_network_retries=0)  # fmt: skip
        cus = c.v1.customers.create(params={"email": "keep@x.example"})
        later = sb.advance_clock(seconds=10 * DAY)
    assert json.loads(state.read_text())["objects"][cus.id]["email"] == "keep@x.example"
    with running_sandbox(state_file=str(state)) as sb:
        c = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sb.url},
                                max_network_retries=0)  # fmt: skip
        assert c.v1.customers.retrieve(cus.id).email == "keep@x.example"
        assert sb.now() >= later


def test_sandbox_hosted_invoice_page_pays(client, sandbox, member, http):
    """The hosted invoice page of a failed renewal shows it open and takes a new card."""
    sub_id = member("4000000000000341")
    sub = client.v1.subscriptions.retrieve(sub_id)
    sandbox.advance_clock(to=sub["items"].data[0].current_period_end + 60)
    inv = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub_id).latest_invoice)
    status, _, page = http("GET", inv.hosted_invoice_url)
    assert status == 200 and "open" in page and "€5.00" in page
    status, _, page = http("POST", inv.hosted_invoice_url, {"card": "4000000000000002"})
    assert status == 402 and "declined" in page
    status, _, _ = http("POST", inv.hosted_invoice_url, {"card": "4242424242424242"})
    assert status == 303
    assert client.v1.invoices.retrieve(inv.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub_id).status == "active"
    payments = client.v1.invoice_payments.list(params={"invoice": inv.id}).data
    assert payments[0].status == "paid" and payments[0].amount_paid == 500


def test_sandbox_cli_help(capsys):
    """``python -m stripe_sandbox --help`` documents its options."""
    from stripe_sandbox.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--webhook-url" in capsys.readouterr().out


def test_sandbox_subscription_discounts_expand_end_and_change(
    client, sandbox, receiver, monthly, subscription_session
):
    """A repeating coupon: `discounts` expand to discount objects (current shape, coupon under
    `source`), invoices are discounted until `end`, then the discount goes with events; a
    coupon can be put on later with `discounts=[{coupon}]` and taken off with `discounts=""`."""
    coupon = client.v1.coupons.create(
        params={"percent_off": 50, "duration": "repeating", "duration_in_months": 2}
    )
    sess = subscription_session(monthly.id, discounts=[{"coupon": coupon.id}])
    sub_id = sandbox.complete_checkout(sess.id, email="d@x.example")["subscription"]
    sub = client.v1.subscriptions.retrieve(
        sub_id, params={"expand": ["discounts.source.coupon", "latest_invoice"]}
    )
    (disc,) = sub.discounts
    assert disc.object == "discount" and disc.source.type == "coupon"
    assert disc.source.coupon.percent_off == 50 and disc.subscription == sub_id
    assert "coupon" not in disc.to_dict()  # moved under `source` (2025-09-30)
    assert sub.latest_invoice.total == 250

    sandbox.advance_clock(seconds=65 * DAY)  # two discounted months, then the end
    sub = client.v1.subscriptions.retrieve(sub_id, params={"expand": ["latest_invoice"]})
    assert sub.discounts == [] and sub.latest_invoice.total == 500
    assert sandbox.wait_for_deliveries(5)
    types = receiver.types()
    assert types.count("customer.discount.created") == 1
    assert types.count("customer.discount.deleted") == 1

    forever = client.v1.coupons.create(params={"amount_off": 100, "currency": "eur",
                                               "duration": "forever"})  # fmt: skip
    sub = client.v1.subscriptions.update(sub_id, params={"discounts": [{"coupon": forever.id}]})
    assert len(sub.discounts) == 1
    sandbox.advance_clock(seconds=31 * DAY)
    sub = client.v1.subscriptions.retrieve(sub_id, params={"expand": ["latest_invoice"]})
    assert sub.latest_invoice.total == 400
    sub = client.v1.subscriptions.update(sub_id, params={"discounts": ""})
    assert sub.discounts == []


def test_sandbox_switch_to_another_interval_restarts_the_billing_cycle(
    client, sandbox, member, monthly, http
):
    """Monthly to yearly (the portal's switch, proration none): the period starts again now and
    the yearly price is invoiced and paid at once, as Stripe does; a same-interval switch is not
    invoiced."""
    yearly = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 5000, "recurring": {"interval": "year"},
        "product": monthly.product})  # fmt: skip
    dearer = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 900, "recurring": {"interval": "month"},
        "product": monthly.product})  # fmt: skip
    sub_id = member()
    sandbox.advance_clock(seconds=10 * DAY)
    cus = client.v1.subscriptions.retrieve(sub_id).customer
    portal = client.v1.billing_portal.sessions.create(params={"customer": cus})
    http("POST", portal.url, {"action": "switch", "subscription": sub_id, "price": dearer.id})
    assert len(client.v1.invoices.list(params={"subscription": sub_id}).data) == 1

    http("POST", portal.url, {"action": "switch", "subscription": sub_id, "price": yearly.id})
    sub = client.v1.subscriptions.retrieve(sub_id, params={"expand": ["latest_invoice"]})
    item = sub["items"].data[0]
    assert (
        item.current_period_start == sandbox.now() or sandbox.now() - item.current_period_start < 5
    )
    assert item.current_period_end - item.current_period_start >= 365 * DAY
    assert sub.latest_invoice.billing_reason == "subscription_update"
    assert (sub.latest_invoice.status, sub.latest_invoice.amount_paid) == ("paid", 5000)
