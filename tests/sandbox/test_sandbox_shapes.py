"""Every object type the sandbox serves has at least the keys of Stripe's own example object."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import SANDBOX_API_KEY
from stripe_sandbox.testing import running_sandbox

# Keys of Stripe's example objects the sandbox deliberately leaves out, each with its reason.
OMITTED = {
    # Removed from the Invoice resource in 2025-03-31.basil; the subscription is named in
    # parent.subscription_details.subscription, and stripe 16's Invoice has no such field.
    "invoice": {"subscription"},
}


def _keys(obj) -> set[str]:
    return set(obj.to_dict().keys()) if hasattr(obj, "to_dict") else set(obj)


@pytest.fixture(scope="module")
def world():
    """One of every object type, made through the SDK and the sandbox's controls."""
    with running_sandbox() as sandbox:
        client = stripe.StripeClient(
            SANDBOX_API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0
        )
        yield _build_world(sandbox, client)


def _build_world(sandbox, client):
    monthly = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 500, "recurring": {"interval": "month"},
                "product_data": {"name": "Membership"}}
    )  # fmt: skip
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    promo = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "FRIEND10"}
    )
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription", "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "https://news.example/ok", "discounts": [{"promotion_code": promo.id}],
        }
    )  # fmt: skip
    sandbox.complete_checkout(sess.id, card="4242424242424242", email="reader@news.example")
    sess = client.v1.checkout.sessions.retrieve(sess.id)
    sub = client.v1.subscriptions.retrieve(sess.subscription)
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    pay = client.v1.invoice_payments.list(params={"invoice": inv.id}).data[0]
    pi = client.v1.payment_intents.retrieve(pay.payment.payment_intent)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 100})
    dispute = sandbox.dispute_charge(charge.id)
    cus = client.v1.customers.retrieve(sub.customer)
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": cus.id, "return_url": "https://news.example/account"}
    )
    return {
        "product": client.v1.products.retrieve(monthly.product),
        "price": client.v1.prices.retrieve(monthly.id),
        "customer": cus,
        "checkout.session": sess,
        "billing_portal.session": portal,
        "subscription": sub,
        "subscription_item": sub["items"].data[0],
        "invoice": inv,
        "line_item": inv.lines.data[0],
        "invoice_payment": pay,
        "payment_intent": pi,
        "charge": charge,
        "refund": refund,
        "dispute": client.v1.disputes.retrieve(dispute["id"]),
        "coupon": client.v1.coupons.retrieve(coupon.id),
        "promotion_code": client.v1.promotion_codes.retrieve(promo.id),
        "event": client.v1.events.list(params={"limit": 1}).data[0],
        "item": client.v1.checkout.sessions.line_items.list(sess.id).data[0],
        "payment_method": client.v1.payment_methods.retrieve(
            cus.invoice_settings.default_payment_method
        ),
        "plan": sub["items"].data[0].plan,
        "balance_transaction": client.v1.balance_transactions.retrieve(charge.balance_transaction),
        "discount": client.v1.subscriptions.retrieve(
            sub.id, params={"expand": ["discounts"]}
        ).discounts[0],
    }


@pytest.mark.parametrize(
    "kind",
    [
        "product", "price", "customer", "checkout.session", "billing_portal.session",
        "subscription", "subscription_item", "invoice", "line_item", "invoice_payment",
        "payment_intent", "charge", "refund", "dispute", "coupon", "promotion_code", "event",
        "item", "payment_method", "discount", "balance_transaction",
    ],
)  # fmt: skip
def test_sandbox_object_has_stripe_example_keys(kind, world, stripe_fixtures):
    """The sandbox's object carries every top-level key of Stripe's example, bar documented ones."""
    expected = set(stripe_fixtures[kind]) - OMITTED.get(kind, set())
    missing = expected - _keys(world[kind])
    assert not missing, f"{kind} lacks {sorted(missing)}"


def test_sandbox_current_shapes_not_legacy(world):
    """Basil-and-later facts: item periods, invoice parent, no charges list, promotion.coupon."""
    sub = world["subscription"].to_dict()
    assert "current_period_end" not in sub
    item = world["subscription_item"]
    assert item.current_period_end > item.current_period_start
    inv = world["invoice"].to_dict()
    assert not {"payment_intent", "charge", "paid", "subscription"} & set(inv)
    assert inv["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert "charges" not in world["payment_intent"].to_dict()
    promo = world["promotion_code"].to_dict()
    assert "coupon" not in promo and promo["promotion"]["type"] == "coupon"
    assert world["invoice_payment"].payment.type == "payment_intent"
    assert world["event"].api_version == "2026-10-28.endive"
