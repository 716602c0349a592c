"""Stripe's fees come from each payment's balance transaction and sit beside it in the ledger:
a card payment's fee by the sandbox's schedule, a refund keeps the fee, a dispute adds its fee
(given back when won). Gross stays what donors gave."""

from __future__ import annotations

from tests.fundraisers.conftest import progress
from tests.host.conftest import (
    DE_CARD,
    US_CARD,
    accounts_of,
    charge_of,
    fee_rows,
    pay_gift,
    refund,
    transparency_json,
)


def test_a_card_payment_fee_is_read_from_its_balance_transaction(app, client, campaign,
                                                                 stripe_world):  # fmt: skip
    pay_gift(app, stripe_world, campaign, "25", card=US_CARD)  # 3.25 % + €0.25 = 81 + 25
    pay_gift(app, stripe_world, campaign, "40", outlet="river-daily", card=DE_CARD)  # 60 + 25
    stripe_world.deliver()
    rows = fee_rows(app)
    assert sorted((kind, fee, currency) for _, kind, fee, currency in rows) == [
        ("charge", 85, "eur"), ("charge", 106, "eur")]  # fmt: skip
    figures = transparency_json(client)
    assert figures["raised"] == progress(client)["raised"] == 6500  # gross: what donors gave
    assert figures["fees"] == 191
    fees = {o["slug"]: o["fees"] for o in figures["outlets"]}
    # The split gift's fee is shared like the gift (36, 35, 35); the one-outlet gift's is its own.
    assert fees == {"mountain-post": 36, "river-daily": 35 + 85, "valley-voice": 35}
    for outlet in figures["outlets"]:
        assert outlet["balance"] == outlet["raised"] - outlet["fees"]


def test_a_refund_keeps_the_fee_and_a_dispute_adds_one(app, client, campaign, stripe_world):
    kept = pay_gift(app, stripe_world, campaign, "30", outlet="mountain-post")
    lost = pay_gift(app, stripe_world, campaign, "20", outlet="valley-voice")
    won = pay_gift(app, stripe_world, campaign, "10", outlet="river-daily")
    refund(app, kept, 1000)
    stripe_world.sandbox.close_dispute(
        stripe_world.sandbox.dispute_charge(charge_of(stripe_world, lost)["id"])["id"], "lost"
    )
    stripe_world.sandbox.close_dispute(
        stripe_world.sandbox.dispute_charge(charge_of(stripe_world, won)["id"])["id"], "won"
    )
    stripe_world.deliver()
    stripe_world.redeliver_as_new()  # every event twice: nothing counts twice
    kinds = sorted((kind, fee) for _, kind, fee, _c in fee_rows(app))
    card = [(3000 * 325 + 5000) // 10000 + 25, (2000 * 325 + 5000) // 10000 + 25,
            (1000 * 325 + 5000) // 10000 + 25]  # fmt: skip
    assert kinds == sorted(
        [("charge", f) for f in card]
        + [("refund", 0)]
        + [("adjustment", 2000), ("adjustment", 2000), ("adjustment", -2000)]
    )
    shares = accounts_of(app, campaign)
    assert shares["mountain-post"].raised == 2000 and shares["mountain-post"].fees == card[0]
    assert shares["valley-voice"].raised == 0 and shares["valley-voice"].fees == card[1] + 2000
    assert shares["river-daily"].raised == 1000 and shares["river-daily"].fees == card[2]
    assert shares["valley-voice"].balance == -(card[1] + 2000)  # the host carried the loss
    assert transparency_json(client)["raised"] == progress(client)["raised"] == 3000
