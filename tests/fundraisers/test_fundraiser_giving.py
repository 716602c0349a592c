"""Giving once and monthly through the sandbox's Checkout and the webhooks, to all or to one."""

from __future__ import annotations

from sqlalchemy import select

from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.perks.services import active_perk_slugs
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, donations, give, give_and_pay, progress


def test_give_once_to_all(app, campaign, auth, client, stripe_world, mailbox):
    response = give(auth, amount="25", public_name="Ana", message="For the valley!")
    url = response.headers["Location"]
    assert url.startswith(stripe_world.sandbox.url)
    session = stripe_world.sandbox.get(url.rsplit("/", 1)[-1])
    assert session["mode"] == "payment"
    assert session["metadata"]["kind"] == "donation"
    assert progress(client)["raised"] == 0  # nothing counts before Stripe says so

    stripe_world.pay(url, email="Ana@Example.org")
    stripe_world.deliver()

    figures = progress(client)
    assert figures["raised"] == 2500
    assert figures["backers"] == 1
    assert figures["percent"] == 0
    assert [o["raised"] for o in figures["outlets"]] == [834, 833, 833]
    assert sum(o["raised"] for o in figures["outlets"]) == 2500
    (donation,) = donations(app)
    assert (donation.status.value, donation.email) == ("paid", "ana@example.org")
    assert donation.outlet_id is None  # split equally
    receipts = mailbox.to("ana@example.org")
    assert [m["Subject"] for m in receipts] == ["Thank you for your gift: your receipt"]
    assert "€25.00" in mailbox.body(receipts[0])

    # Replaying every event changes nothing: no second row, no second receipt.
    stripe_world.deliver(stripe_world.sandbox.events())
    assert progress(client)["raised"] == 2500
    assert len(mailbox.to("ana@example.org")) == 1

    page = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "Ana" in page and "For the valley!" in page

    thanks = client.get(
        f"/fundraisers/{SLUG}/thanks?donation={donation.id}&session_id={donation.stripe_checkout_session_id}"
    ).get_data(as_text=True)
    assert "has arrived" in thanks


def test_give_to_one_outlet(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="10", outlet="river-daily")
    give_and_pay(auth, stripe_world, amount="7.01", email="b@example.org")
    figures = progress(client)
    assert figures["raised"] == 1000 + 701
    shares = {o["slug"]: o["raised"] for o in figures["outlets"]}
    assert shares == {"mountain-post": 234, "river-daily": 1000 + 234, "valley-voice": 233}
    assert sum(shares.values()) == figures["raised"]
    assert figures["backers"] == 2


def test_give_monthly(app, campaign, auth, client, stripe_world, mailbox):
    url = give_and_pay(auth, stripe_world, amount="12", frequency="monthly", email="m@example.org")
    session = stripe_world.sandbox.get(url.rsplit("/", 1)[-1])
    assert session["mode"] == "subscription"
    assert progress(client)["raised"] == 1200
    (donation,) = donations(app)
    assert donation.status.value == "active" and donation.stripe_subscription_id

    stripe_world.advance(31)  # the next month's invoice is paid
    stripe_world.deliver()
    figures = progress(client)
    assert figures["raised"] == 2400
    assert figures["backers"] == 1
    with app.app_context():
        kinds = [e.kind.value for e in db.session.scalars(select(LedgerEntry))]
    assert kinds == ["monthly_gift", "monthly_gift"]
    assert len(mailbox.to("m@example.org")) == 2  # a receipt per month
    # The memberships code left the donation subscription alone.
    with app.app_context():
        from membership.billing.models import Membership

        assert db.session.scalar(select(Membership.id)) is None

    # The donor stops giving: the monthly gift ends, the money stays counted.
    _cancel(app, donation.stripe_subscription_id)
    stripe_world.deliver()
    (donation,) = donations(app)
    assert donation.status.value == "ended"
    assert progress(client)["raised"] == 2400


def _cancel(app, subscription_id):
    """Cancel a subscription through the Stripe API, as the billing portal would."""
    with app.app_context():
        from membership.billing.stripe_gateway import _call, client

        _call(client().v1.subscriptions.cancel, subscription_id)


def test_signed_in_donor_sees_gift_and_gets_reward(app, campaign, auth, client, stripe_world):
    with app.app_context():
        user_id = make_user(email="reader@example.org").id
    auth.login()
    url = give(auth, amount="50").headers["Location"]
    session = stripe_world.sandbox.get(url.rsplit("/", 1)[-1])
    assert session["client_reference_id"] == str(user_id)
    stripe_world.pay(url)
    stripe_world.deliver()
    account = client.get("/account").get_data(as_text=True)
    assert 'id="donations"' in account and "Reporters Together" in account and "€50.00" in account
    with app.app_context():
        assert "members-only-articles" in active_perk_slugs(user_id)
