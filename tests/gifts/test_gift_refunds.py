"""A gift membership whose payment goes back (refunded in full, or a dispute lost) is void: its
code stops working, and perks already redeemed end. A partial refund leaves it; a refund that
fails gives it back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.gifts.models import GiftMembership
from membership.perks.services import active_perk_slugs
from tests.conftest import Actions
from tests.factories import make_user

PERKS = ["ad-free", "members-only-articles"]


def gift(app) -> GiftMembership:
    with app.app_context():
        found = db.session.scalar(select(GiftMembership))
        db.session.expunge(found)
        return found


def refund(app, stripe_world, amount: int | None = None, key: str = "t-gift-refund") -> None:
    with app.app_context():
        gateway.refund_payment_intent(gift(app).payment_intent_id, amount, key)
    stripe_world.deliver()


@pytest.fixture
def friend(app, mailbox) -> tuple[int, Actions]:
    """The recipient, signed in."""
    with app.app_context():
        user_id = make_user(email="friend@example.org").id
    actions = Actions(app.test_client(), mailbox)
    actions.login(email="friend@example.org")
    return user_id, actions


def redeem(actions: Actions, code: str):
    return actions.post("/gift/redeem", {"code": code})


def perks(app, user_id: int) -> list[str]:
    with app.app_context():
        return active_perk_slugs(user_id)


def test_a_refunded_gift_code_cannot_be_redeemed(app, buy, stripe_world, friend):
    buy()
    refund(app, stripe_world)
    assert gift(app).status == "refunded"
    user_id, actions = friend
    response = redeem(actions, gift(app).code)
    assert response.status_code == 400
    assert "was refunded, so its code no longer works" in response.get_data(as_text=True)
    assert perks(app, user_id) == []


def test_a_partial_refund_leaves_the_gift_redeemable(app, buy, stripe_world, friend):
    buy()
    refund(app, stripe_world, amount=1000)  # a goodwill gesture: €10 of €30 back
    assert gift(app).status == "paid"
    user_id, actions = friend
    assert redeem(actions, gift(app).code).status_code == 303
    assert perks(app, user_id) == PERKS


def test_a_redeemed_gift_refunded_in_two_steps_ends_the_recipients_perks(
    app, buy, stripe_world, friend
):
    buy()
    user_id, actions = friend
    assert redeem(actions, gift(app).code).status_code == 303
    assert perks(app, user_id) == PERKS
    refund(app, stripe_world, amount=1000, key="t-part-1")
    assert perks(app, user_id) == PERKS
    refund(app, stripe_world, amount=2000, key="t-part-2")
    assert gift(app).status == "refunded"
    assert perks(app, user_id) == []
    stripe_world.deliver(stripe_world.sandbox.events())  # duplicates change nothing
    assert perks(app, user_id) == [] and gift(app).status == "refunded"


def test_a_lost_dispute_voids_the_gift_an_open_one_does_not(app, buy, stripe_world, friend):
    buy(card="4000000000000259")  # disputed at once
    assert gift(app).status == "paid"  # an open dispute moves no money for good
    dispute = stripe_world.sandbox.events("charge.dispute.created")[0]["data"]["object"]["id"]
    stripe_world.sandbox.close_dispute(dispute, outcome="lost")
    stripe_world.deliver()
    assert gift(app).status == "disputed"
    user_id, actions = friend
    response = redeem(actions, gift(app).code)
    assert response.status_code == 400
    assert "was disputed" in response.get_data(as_text=True)
    assert perks(app, user_id) == []


def test_a_refund_that_fails_gives_the_gift_back(app, buy, stripe_world, friend):
    buy(card="4000000000007726")  # its refunds stay pending
    user_id, actions = friend
    assert redeem(actions, gift(app).code).status_code == 303
    refund(app, stripe_world)
    assert gift(app).status == "refunded" and perks(app, user_id) == []
    refund_id = stripe_world.sandbox.events("refund.created")[0]["data"]["object"]["id"]
    stripe_world.sandbox.move_refund(refund_id, "failed")
    stripe_world.deliver()
    assert gift(app).status == "redeemed"
    assert perks(app, user_id) == PERKS
