"""Money the app cannot attribute is not its revenue: refunds and lost disputes of charges it
never sold, and payments in another currency than their campaign or gift, stay out of the
ledger and every total, and staff see them on the webhook page."""

from __future__ import annotations

import stripe
from sqlalchemy import select

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers import giving
from membership.fundraisers.models import Donation
from membership.ledger.models import LedgerEntry
from membership.money import format_money
from membership.timeutil import utcnow
from tests.billing.conftest import join
from tests.conftest import Actions
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, give, make_campaign, progress


def sdk(stripe_world) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}, max_network_retries=0
    )


def other_product_sale(stripe_world, card: str = "4242424242424242") -> str:
    """A sale of something else on the same Stripe account (a shop's mug); its payment intent."""
    session = sdk(stripe_world).v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://shop.example/ok",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1200,
                        "product_data": {"name": "Mug"},
                    },
                }
            ],
        }
    )
    done = stripe_world.sandbox.complete_checkout(session.id, card=card, email="s@shop.example")
    return done["payment_intent"]


def ledger_rows(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [(e.kind.value, e.amount) for e in db.session.scalars(select(LedgerEntry))]


def staff_page(app, mailbox) -> str:
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    staff = Actions(app.test_client(), mailbox)
    staff.login(email="staff@example.org")
    response = staff.client.get("/admin/webhooks")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html[html.index('id="unattributed"') :].split("</section>")[0]


def test_a_refund_of_a_charge_this_app_never_sold_is_listed_not_counted(app, stripe_world, mailbox):
    intent = other_product_sale(stripe_world)
    refund = sdk(stripe_world).v1.refunds.create(params={"payment_intent": intent, "amount": 500})
    stripe_world.deliver()
    stripe_world.deliver(stripe_world.sandbox.events())  # duplicates list it once
    assert ledger_rows(app) == []
    section = staff_page(app, mailbox)
    assert section.count(refund.id) == 1
    assert "payment not sold here" in section and "-€5.00" in section


def test_a_lost_dispute_of_a_charge_this_app_never_sold_is_listed_not_counted(
    app, stripe_world, mailbox
):
    other_product_sale(stripe_world, card="4000000000000259")  # disputed at once
    dispute = stripe_world.sandbox.events("charge.dispute.created")[0]["data"]["object"]["id"]
    stripe_world.sandbox.close_dispute(dispute, outcome="lost")
    stripe_world.deliver()
    assert ledger_rows(app) == []
    section = staff_page(app, mailbox)
    assert dispute in section and "lost dispute" in section


def test_every_checkout_the_app_creates_turns_adaptive_pricing_off(app, reader, auth, stripe_world):
    with app.app_context():
        make_campaign()
    urls = [
        join(auth),
        give(auth, amount="25").headers["Location"],
        give(auth, amount="10", frequency="monthly").headers["Location"],
        auth.post("/gift", {"plan": "supporter", "months": "3",
                            "recipient_email": "f@example.org"}).headers["Location"],
    ]  # fmt: skip
    for url in urls:
        session = stripe_world.sandbox.get(url.rstrip("/").rsplit("/", 1)[-1])
        assert session["adaptive_pricing"] == {"enabled": False}, url


def test_a_gift_paid_in_another_currency_is_listed_for_staff_not_dropped(
    app, reader, auth, client, stripe_world, mailbox
):
    with app.app_context():
        make_campaign()
    give(auth, amount="25")
    with app.app_context():
        donation = db.session.scalar(select(Donation))
        intent = giving.PaymentIntent(
            id="pi_in_dollars", status="succeeded", amount_received=2700, currency="usd",
            customer=None, latest_charge=None, created=utcnow(),
            metadata={"kind": "donation", "donation_id": str(donation.id)},
        )  # fmt: skip
        assert giving.record_payment(intent) is False
        db.session.commit()
    assert progress(client)["raised"] == 0  # not the campaign's money: its totals are in euros
    section = staff_page(app, mailbox)
    assert "pi_in_dollars" in section and "other currency" in section
    with app.test_request_context():
        assert format_money(2700, "usd") in section
    assert SLUG in section
