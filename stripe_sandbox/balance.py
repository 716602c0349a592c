"""Balance transactions: what each charge, refund and dispute did to the sandbox's balance, with
Stripe's fees on a documented, realistic schedule (docs/sandbox.md, "Fees").

The sandbox account is in the EEA (Ireland, like most European Stripe accounts) and settles in
the charge's own currency, so `exchange_rate` is null and `amount` is the charge's. Card fees
follow Stripe's standard European pricing: standard EEA cards 1.5 %, UK cards 2.5 %,
international cards 3.25 %, each plus a fixed part in the charge's currency (€0.25); a dispute
costs €20 and a won dispute gives it back; a refund keeps the payment's fee.
"""

from __future__ import annotations

from typing import Any

from stripe_sandbox.shapes import new_id

Obj = dict[str, Any]

ACCOUNT_COUNTRY = "IE"
_EEA = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT NL NO PL PT RO SK SI ES SE"
EEA = frozenset(_EEA.split(" "))
# Percent of the amount, in basis points, by where the card was issued.
CARD_RATES = {"eea": 150, "uk": 250, "international": 325}
# The fixed part per successful card charge, in minor units of the charge's currency.
FIXED_FEE = {"eur": 25, "usd": 30, "gbp": 20, "chf": 30, "gel": 80, "amd": 12_000, "azn": 50}
DEFAULT_FIXED_FEE = 30
DISPUTE_FEE = {"eur": 2000, "usd": 2200, "gbp": 1800}
DEFAULT_DISPUTE_FEE = 2000
# Test cards issued outside the United States (Stripe's country test cards); every other test
# card is a US card, as in Stripe: an international card for this account.
CARD_COUNTRIES = {"4000002760000016": "DE", "4000002500000003": "FR", "4000008260000000": "GB"}


def card_country(number: str | None) -> str:
    """Where a test card was issued."""
    return CARD_COUNTRIES.get(number or "", "US")


def card_region(country: str) -> str:
    """The pricing region of a card for this (EEA) account."""
    if country in EEA:
        return "eea"
    return "uk" if country == "GB" else "international"


def card_fee(amount: int, currency: str, country: str) -> int:
    """Stripe's fee on a successful card charge: a percentage, rounded half up, plus the
    fixed part; never more than the amount."""
    percent = (amount * CARD_RATES[card_region(country)] + 5000) // 10000
    return min(amount, percent + FIXED_FEE.get(currency, DEFAULT_FIXED_FEE))


def transaction(now: int, amount: int, currency: str, fee: int, kind: str, source: str,
                category: str, description: str | None) -> Obj:  # fmt: skip
    """A balance transaction in Stripe's shape."""
    details = []
    if fee:
        details.append({"amount": fee, "application": None, "currency": currency,
                        "description": "Stripe processing fees", "type": "stripe_fee"})  # fmt: skip
    return {
        "id": new_id("txn_"), "object": "balance_transaction", "amount": amount,
        "available_on": now + 7 * 86400, "balance_type": "payments", "created": now,
        "currency": currency, "description": description, "exchange_rate": None, "fee": fee,
        "fee_details": details, "net": amount - fee, "reporting_category": category,
        "source": source, "status": "pending", "type": kind,
    }  # fmt: skip


def charge_succeeded(engine, ch: Obj, number: str | None) -> Obj:
    """The balance transaction of a successful card charge (its fee by the card's country)."""
    country = card_country(number)
    ch["payment_method_details"]["card"]["country"] = country
    fee = card_fee(ch["amount"], ch["currency"], country)
    txn = engine.store(transaction(engine.now(), ch["amount"], ch["currency"], fee, "charge",
                                   ch["id"], "charge", ch.get("description")))  # fmt: skip
    ch["balance_transaction"] = txn["id"]
    return txn


def refund_created(engine, ref: Obj) -> Obj:
    """A refund's balance transaction: the amount goes back, the fee stays with Stripe."""
    txn = engine.store(transaction(engine.now(), -ref["amount"], ref["currency"], 0, "refund",
                                   ref["id"], "refund", "REFUND FOR CHARGE"))  # fmt: skip
    ref["balance_transaction"] = txn["id"]
    return txn


def refund_failed(engine, ref: Obj) -> Obj:
    """A failed or canceled refund's money comes back (Stripe's `refund_failure`)."""
    txn = engine.store(transaction(engine.now(), ref["amount"], ref["currency"], 0,
                                   "refund_failure", ref["id"], "refund_failure",
                                   "REFUND FAILURE"))  # fmt: skip
    ref["failure_balance_transaction"] = txn["id"]
    return txn


def dispute_created(engine, dp: Obj) -> Obj:
    """Opening a dispute withdraws its amount and charges the dispute fee."""
    fee = DISPUTE_FEE.get(dp["currency"], DEFAULT_DISPUTE_FEE)
    txn = engine.store(transaction(engine.now(), -dp["amount"], dp["currency"], fee,
                                   "adjustment", dp["id"], "dispute",
                                   f"Chargeback withdrawal for {dp['charge']}"))  # fmt: skip
    dp["balance_transactions"].append(engine.render(txn))
    return txn


def dispute_won(engine, dp: Obj) -> Obj:
    """A won dispute gives back its amount and the dispute fee."""
    fee = DISPUTE_FEE.get(dp["currency"], DEFAULT_DISPUTE_FEE)
    txn = engine.store(transaction(engine.now(), dp["amount"], dp["currency"], -fee,
                                   "adjustment", dp["id"], "dispute_reversal",
                                   f"Chargeback reversal for {dp['charge']}"))  # fmt: skip
    dp["balance_transactions"].append(engine.render(txn))
    return txn
