"""Gift fixtures: the demo catalogue and a buyer who pays through the sandbox's Checkout."""

from __future__ import annotations

import pytest

from membership.extensions import db


@pytest.fixture
def buy(app, catalogue, auth, stripe_world):
    """An anonymous buyer gives `months` of a plan to friend@example.org; returns the code."""

    def _buy(plan="supporter", months="6", card="4242424242424242"):
        response = auth.post(
            "/gift",
            {"plan": plan, "months": months, "recipient_email": "Friend@Example.org",
             "message": "Happy birthday <3", "buyer_email": "giver@example.org"},
        )  # fmt: skip
        assert response.status_code == 303, response.get_data(as_text=True)
        stripe_world.pay(response.headers["Location"], card=card)
        stripe_world.deliver()

    return _buy


@pytest.fixture
def catalogue(app):
    from membership.billing.demo import seed_catalogue
    from membership.demo import Summary

    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
