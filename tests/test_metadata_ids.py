"""Ids in Stripe metadata are text anyone with the dashboard may edit: a value that is no id
of ours ("²", Arabic-Indic digits, an overflow) finds nothing, and the event is still handled."""

from __future__ import annotations

import pytest

from membership.billing import stripe_gateway
from membership.billing.stripe_objects import PaymentIntent
from membership.fundraisers import giving
from membership.gifts import handlers as gift_handlers
from membership.gifts import services as gifts

NOT_IDS = ["²", "٣", "9" * 20, "0", "-1", " 1", ""]


@pytest.mark.parametrize("value", NOT_IDS)
def test_a_donation_id_in_metadata_that_is_no_id_finds_no_donation(app, value):
    with app.app_context():
        assert giving.record_payment(
            PaymentIntent.from_stripe(
                {"id": "pi_x", "status": "succeeded", "amount_received": 500, "currency": "eur",
                 "created": 1_700_000_000, "metadata": {"kind": "donation", "donation_id": value}}
            )
        ) is False  # fmt: skip


@pytest.mark.parametrize("value", NOT_IDS)
def test_a_gift_id_in_metadata_that_is_no_id_is_handled_as_no_gift(app, monkeypatch, value):
    metadata = {"kind": gifts.KIND, "gift_id": value}
    intent = {"id": "pi_y", "object": "payment_intent", "status": "succeeded",
              "amount_received": 500, "currency": "eur", "created": 1_700_000_000,
              "metadata": metadata}  # fmt: skip
    monkeypatch.setattr(
        stripe_gateway, "retrieve_payment_intent", lambda _id: PaymentIntent.from_stripe(intent)
    )
    event = {"id": "evt_y", "type": "payment_intent.succeeded", "data": {"object": intent}}
    with app.app_context():
        gift_handlers.gift_payment_succeeded(event)  # no exception: nothing to record
        assert gifts.gift_for_intent(PaymentIntent.from_stripe(intent)) is None
