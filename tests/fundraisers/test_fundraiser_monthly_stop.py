"""A donor stops a monthly gift from the account page and sees when the next payment is due."""

from __future__ import annotations

import pytest
import stripe
from babel.dates import format_date
from sqlalchemy import select

from membership.audit import AuditEntry
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import from_unix
from tests.conftest import Actions, csrf_token
from tests.factories import make_user
from tests.fundraisers.conftest import donations, give_and_pay, progress, text_of


@pytest.fixture
def monthly(app, campaign, auth, stripe_world):
    """A signed-in reader who gives €12 a month to Valley Voice; returns the donation."""
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    give_and_pay(auth, stripe_world, amount="12", frequency="monthly", outlet="valley-voice",
                 email="reader@example.org")  # fmt: skip
    (donation,) = donations(app)
    assert donation.status.value == "active"
    return donation


def _next_payment(stripe_world, subscription_id: str) -> str:
    """The subscription's current period end at Stripe, as the account page writes it."""
    item = stripe_world.sandbox.get(subscription_id)["items"]["data"][0]
    return format_date(from_unix(item["current_period_end"]), "long", locale="en")


def _donations_card(client) -> str:
    html = client.get("/account").get_data(as_text=True)
    assert 'id="donations"' in html
    return text_of(html.split('id="donations"')[1].split("</section>")[0])


def test_a_reader_sees_the_next_payment_and_stops_a_monthly_gift(
    app, monthly, auth, client, stripe_world
):
    subscription_id = monthly.stripe_subscription_id
    card = _donations_card(client)
    next_date = _next_payment(stripe_world, subscription_id)
    assert "€12.00 a month to Valley Voice (Reporters Together)" in card
    assert f"Next payment on {next_date}." in card and "Stop this monthly gift" in card

    stop = f"/account/donations/{monthly.id}/stop"
    confirm = text_of(client.get(stop).get_data(as_text=True))
    assert "Stop your monthly gift?" in confirm
    assert f"the payment due on {next_date} will not be taken" in confirm
    response = auth.post(stop, follow_redirects=True)
    page = text_of(response.get_data(as_text=True))
    assert "Your monthly gift to Valley Voice is stopped. No further payment will be taken." in page
    assert stripe_world.sandbox.get(subscription_id)["status"] == "canceled"
    # Stopped at once on the page, before Stripe's webhook arrives.
    card = _donations_card(client)
    assert "Stop this monthly gift" not in card and "stopped" in card
    (donation,) = donations(app)
    assert donation.status.value == "ended" and donation.ended_at is not None
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "donation.stopped")
        )
        assert entry.actor_id == donation.user_id and entry.details["donation"] == donation.id

    stripe_world.deliver()  # customer.subscription.deleted: nothing changes
    assert donations(app)[0].ended_at == donation.ended_at
    stripe_world.advance(35)
    stripe_world.deliver()
    with app.app_context():  # no further month was charged
        assert len(db.session.scalars(select(LedgerEntry)).all()) == 1
    assert progress(client)["raised"] == 1200
    again = auth.post(stop, form_page="/account", follow_redirects=True)
    assert "is stopped already" in again.get_data(as_text=True)


def test_the_next_payment_date_follows_each_renewal(app, monthly, client, stripe_world):
    stripe_world.advance(31)
    stripe_world.deliver()
    next_date = _next_payment(stripe_world, monthly.stripe_subscription_id)
    assert donations(app)[0].current_period_end > monthly.current_period_end
    assert f"Next payment on {next_date}." in _donations_card(client)


def test_only_the_donor_can_stop_a_monthly_gift(app, monthly, stripe_world, mailbox):
    with app.app_context():
        make_user(email="other@example.org")
    other = Actions(app.test_client(), mailbox)
    other.login(email="other@example.org")
    stop = f"/account/donations/{monthly.id}/stop"
    assert other.client.get(stop).status_code == 404
    token = csrf_token(other.client, "/account")
    assert other.client.post(stop, data={"csrf_token": token}).status_code == 404
    assert other.client.get("/account/donations/999999/stop").status_code == 404
    assert stripe_world.sandbox.get(monthly.stripe_subscription_id)["status"] == "active"
    assert donations(app)[0].status.value == "active"


def test_a_stop_without_the_form_token_is_refused(monthly, client, stripe_world):
    response = client.post(f"/account/donations/{monthly.id}/stop")
    assert response.status_code == 400
    assert stripe_world.sandbox.get(monthly.stripe_subscription_id)["status"] == "active"


def test_stopping_a_gift_cancelled_elsewhere_ends_it_too(app, monthly, auth, stripe_world):
    # Cancelled in Stripe (the portal, staff) and the webhook is not here yet.
    stripe.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}
    ).v1.subscriptions.cancel(monthly.stripe_subscription_id)
    response = auth.post(f"/account/donations/{monthly.id}/stop", form_page="/account",
                         follow_redirects=True)  # fmt: skip
    assert "is stopped. No further payment" in response.get_data(as_text=True)
    assert donations(app)[0].status.value == "ended"


def test_a_one_time_gift_has_no_stop(app, campaign, auth, client, stripe_world):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    give_and_pay(auth, stripe_world, amount="20", email="reader@example.org")
    (donation,) = donations(app)
    assert "Stop this monthly gift" not in _donations_card(client)
    assert client.get(f"/account/donations/{donation.id}/stop").status_code == 404
