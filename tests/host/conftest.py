"""Fiscal host fixtures: the fundraiser's campaign, and helpers to pay, refund and dispute
through the sandbox and to read the outlets' accounts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.accounts.models import Role
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.fundraisers import giving
from membership.fundraisers.models import Campaign
from membership.host import accounts, transparency
from membership.ledger.models import LedgerFee
from tests.factories import make_user
from tests.fundraisers.conftest import OUTLETS, SLUG, campaign, make_campaign  # noqa: F401

US_CARD = "4242424242424242"  # international for the sandbox's EEA account: 3.25 % + €0.25
DE_CARD = "4000002760000016"  # an EEA card: 1.5 % + €0.25


@pytest.fixture(autouse=True)
def _fresh_transparency():
    """No snapshot leaks from one test into the next."""
    transparency.clear()
    yield
    transparency.clear()


@pytest.fixture
def staff(app):
    """A staff account (staff@example.org) and an admin (admin@example.org)."""
    with app.app_context():
        make_user("staff@example.org", role=Role.staff)
        make_user("admin@example.org", role=Role.admin)


def pay_gift(app, stripe_world, campaign_id: int, amount: str, outlet: str = "all",
             card: str = US_CARD, frequency: str = "once") -> str:  # fmt: skip
    """Start a gift and pay it on the sandbox's Checkout (no webhook delivered); returns the
    payment intent id (or the subscription's, for a monthly gift: None)."""
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        gift = giving.GiftRequest(amount, frequency, outlet, "", "")
        _, url = giving.start_donation(c, gift, None)
        db.session.commit()
    session = stripe_world.pay(url, card=card, email="donor@example.org")
    return session.get("payment_intent")


def refund(app, payment_intent_id: str, amount: int | None = None, key: str = "") -> str:
    """Refund (part of) a payment through the gateway, as staff would."""
    with app.app_context():
        key = key or f"test-{payment_intent_id}-{amount}"
        return gateway.refund_payment_intent(payment_intent_id, amount, key)


def charge_of(stripe_world, payment_intent_id: str) -> dict:
    """The sandbox's charge of a payment intent."""
    return stripe_world.sandbox.get(stripe_world.sandbox.get(payment_intent_id)["latest_charge"])


def accounts_of(app, campaign_id: int) -> dict[str, accounts.Account]:
    """The outlets' accounts in the campaign's currency, by outlet slug."""
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        return {a.outlet.slug: a for a in accounts.accounts(c) if a.currency == c.currency}


def fee_rows(app) -> list[tuple[str, str, int, str]]:
    """(balance transaction, kind, fee, currency) of every fee row."""
    with app.app_context():
        return [
            (f.balance_transaction_id, f.kind, f.fee, f.currency)
            for f in db.session.scalars(select(LedgerFee).order_by(LedgerFee.id))
        ]


def transparency_json(client, slug: str = SLUG) -> dict:
    """The public transparency API's answer."""
    response = client.get(f"/api/v1/fundraisers/{slug}/transparency")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()
