"""The sandbox's balance transactions: each charge's fee on the documented schedule (EEA, UK and
international cards), refunds keep the fee, a dispute costs its fee and a won one returns it."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import SANDBOX_API_KEY, balance
from stripe_sandbox.testing import running_sandbox


@pytest.fixture(scope="module")
def sandbox_client():
    with running_sandbox() as sandbox:
        client = stripe.StripeClient(
            SANDBOX_API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0
        )
        yield sandbox, client


def _pay(sandbox, client, amount: int, card: str, currency: str = "eur"):
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://news.example/ok",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Gift"},
                    },
                }
            ],
        }
    )
    sandbox.complete_checkout(sess.id, card=card, email="donor@news.example")
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(sess.id).payment_intent
    )
    return client.v1.charges.retrieve(pi.latest_charge, params={"expand": ["balance_transaction"]})


@pytest.mark.parametrize(
    "card,country,fee",
    [
        ("4242424242424242", "US", (2500 * 325 + 5000) // 10000 + 25),  # international: €1.06
        ("4000002760000016", "DE", (2500 * 150 + 5000) // 10000 + 25),  # EEA: €0.63
        ("4000008260000000", "GB", (2500 * 250 + 5000) // 10000 + 25),  # UK: €0.88
    ],
)
def test_card_fees_follow_the_documented_schedule(sandbox_client, card, country, fee):
    sandbox, client = sandbox_client
    charge = _pay(sandbox, client, 2500, card)
    txn = charge.balance_transaction
    assert charge.payment_method_details.card.country == country
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.currency) == (
        "charge",
        2500,
        fee,
        2500 - fee,
        "eur",
    )
    assert txn.source == charge.id and txn.exchange_rate is None
    assert [d.type for d in txn.fee_details] == ["stripe_fee"] and txn.fee_details[0].amount == fee


def test_fixed_part_is_in_the_charges_currency_and_a_fee_never_exceeds_the_amount():
    assert balance.card_fee(10_000, "usd", "US") == 325 + 30
    assert balance.card_fee(10_000, "gel", "DE") == 150 + 80
    assert balance.card_fee(20, "eur", "US") == 20


def test_refund_keeps_the_fee_and_dispute_fees_come_and_go(sandbox_client):
    sandbox, client = sandbox_client
    charge = _pay(sandbox, client, 4000, "4242424242424242")
    refund = client.v1.refunds.create(
        params={"charge": charge.id, "amount": 1000, "expand": ["balance_transaction"]}
    )
    assert (refund.balance_transaction.amount, refund.balance_transaction.fee) == (-1000, 0)
    failed = sandbox.move_refund(refund.id, "failed")
    back = client.v1.balance_transactions.retrieve(failed["failure_balance_transaction"])
    assert (back.type, back.amount, back.fee) == ("refund_failure", 1000, 0)
    other = _pay(sandbox, client, 3000, "4000002760000016")
    dispute = sandbox.dispute_charge(other.id)
    (opened,) = dispute["balance_transactions"]
    assert (opened["type"], opened["amount"], opened["fee"]) == ("adjustment", -3000, 2000)
    won = sandbox.close_dispute(dispute["id"], "won")
    assert [(t["amount"], t["fee"]) for t in won["balance_transactions"]] == [
        (-3000, 2000),
        (3000, -2000),
    ]
    listed = client.v1.balance_transactions.list(params={"source": other.id})
    assert [t.type for t in listed.data] == ["charge"]
