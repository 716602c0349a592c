"""Joining: from the plan's button through Stripe Checkout and the webhooks to the perks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from membership.billing.models import Plan
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.perks.services import active_perk_slugs
from tests.billing.conftest import join, membership_of


def ledger_rows(app):
    with app.app_context():
        return [
            (e.kind.value, e.amount, e.currency)
            for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]


def test_join_pay_and_get_perks(app, reader, client, auth, stripe_world, mailbox):
    url = join(auth, "supporter", "month")
    assert url.startswith(stripe_world.sandbox.url)

    # Back from Checkout before the webhook: nothing granted, the page is "confirming".
    stripe_world.pay(url)
    page = client.get("/checkout/success?session_id=x").get_data(as_text=True)
    assert "We are confirming your payment" in page
    assert membership_of(app, reader) is None

    stripe_world.deliver()
    membership = membership_of(app, reader)
    assert (membership.status, membership.amount, membership.currency) == ("active", 500, "eur")
    with app.app_context():
        assert active_perk_slugs(reader) == ["ad-free", "members-only-articles"]
    assert ledger_rows(app) == [("membership", 500, "eur")]

    page = client.get("/checkout/success").get_data(as_text=True)
    assert "Welcome, member!" in page
    account = client.get("/account").get_data(as_text=True)
    assert "Supporter" in account and "€5.00" in account
    assert "Renews on" in account
    assert 'data-perk="members-only-articles"' in account
    assert "Invoice" in account  # link to the hosted invoice
    welcome = mailbox.to("reader@example.org")
    assert [m["Subject"] for m in welcome].count("Welcome: your membership is active") == 1


def test_yearly_price(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth, "supporter", "year"))
    stripe_world.deliver()
    membership = membership_of(app, reader)
    assert (membership.interval, membership.amount) == ("year", 5000)


def test_pay_what_you_want(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth, "solidarity", "month", amount="7,50"))
    stripe_world.deliver()
    membership = membership_of(app, reader)
    assert (membership.amount, membership.status) == (750, "active")
    with app.app_context():
        assert active_perk_slugs(reader) == ["members-only-articles"]


def test_pay_what_you_want_refuses_bad_amounts(app, reader, auth, client, stripe_world):
    for amount, message in [
        ("2", "below this plan"),
        ("abc", "Enter an amount"),
        ("-5", "Enter an amount"),
        ("3.333", "Enter an amount"),
        ("9" * 30, "Enter an amount"),
        ("", "Enter an amount"),
    ]:
        response = auth.post(
            "/plans/solidarity/checkout",
            {"interval": "month", "amount": amount},
            form_page="/plans",
        )
        assert response.status_code == 303
        assert "/plans" in response.headers["Location"]
        assert message in client.get("/plans").get_data(as_text=True)
    assert stripe_world.sandbox.events() == []


def test_trial_plan(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth, "insider", "month"))
    stripe_world.deliver()
    membership = membership_of(app, reader)
    assert membership.status == "trialing"
    assert ledger_rows(app) == []  # nothing paid yet
    with app.app_context():
        assert len(active_perk_slugs(reader)) == 4


def test_anonymous_reader_registers_first(app, catalogue, client, auth):
    response = auth.post("/plans/supporter/checkout", {"interval": "month"}, form_page="/plans")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/register?next=")


def test_unknown_plan_and_bad_interval(app, reader, auth, client):
    assert (
        auth.post("/plans/nope/checkout", {"interval": "month"}, form_page="/plans").status_code
        == 404
    )
    response = auth.post("/plans/supporter/checkout", {"interval": "weekly"}, form_page="/plans")
    assert response.status_code == 303
    assert "Choose monthly or yearly" in client.get("/plans").get_data(as_text=True)


def test_checkout_needs_csrf(app, reader, client):
    assert client.post("/plans/supporter/checkout", data={"interval": "month"}).status_code == 400


def test_member_is_sent_to_the_portal_instead_of_paying_twice(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    response = auth.post("/plans/insider/checkout", {"interval": "month"}, form_page="/plans")
    assert response.status_code == 303
    assert "/p/session/" in response.headers["Location"]  # the billing portal


def test_declined_card_grants_nothing(app, reader, auth, stripe_world):
    import stripe_sandbox.errors as sandbox_errors

    url = join(auth)
    with pytest.raises(sandbox_errors.StripeError, match="declined"):
        stripe_world.pay(url, card="4000000000000002")
    stripe_world.deliver()
    assert membership_of(app, reader) is None
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_billing_portal(app, reader, auth, stripe_world):
    response = auth.post("/account/billing-portal", form_page="/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/plans"  # no payments yet
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    response = auth.post("/account/billing-portal", form_page="/account")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_world.sandbox.url + "/p/session/")


def test_cancel_in_the_billing_portal_reaches_the_app(app, reader, auth, stripe_world):
    import urllib.parse
    import urllib.request

    stripe_world.pay(join(auth))
    stripe_world.deliver()
    portal = auth.post("/account/billing-portal", form_page="/account").headers["Location"]
    subscription = membership_of(app, reader).stripe_subscription_id
    form = urllib.parse.urlencode({"action": "cancel", "subscription": subscription}).encode()
    with urllib.request.urlopen(portal, data=form, timeout=10) as answer:  # noqa: S310 - sandbox
        assert answer.status == 200  # the portal shows its page again after the action
    stripe_world.deliver()
    assert membership_of(app, reader).cancel_at_period_end is True


def test_perks_follow_a_plan_that_staff_change(app, reader, auth, stripe_world, mailbox):
    from membership.accounts.models import Role
    from membership.perks.models import Perk
    from tests.conftest import Actions
    from tests.factories import make_user

    stripe_world.pay(join(auth))
    stripe_world.deliver()
    with app.app_context():
        make_user(email="boss@example.org", role=Role.admin)
        plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
        perk_ids = [p.id for p in plan.perks]
        newsletter = db.session.scalar(select(Perk.id).where(Perk.slug == "insider-newsletter"))
        plan_id = plan.id
    staff = Actions(app.test_client(), mailbox)
    staff.login(email="boss@example.org")
    form = {
        "slug": "supporter", "name": "Supporter", "currency": "eur", "position": "0",
        "active": "y", "monthly": "5.00", "yearly": "50.00", "trial_days": "0",
        "perks": [*perk_ids, newsletter],
    }  # fmt: skip
    response = staff.post(f"/admin/catalogue/plans/{plan_id}", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert "insider-newsletter" in active_perk_slugs(reader)


def test_a_customer_deleted_in_stripe_gets_a_new_one_on_the_next_join(
    app, reader, auth, stripe_world
):
    import stripe as stripe_sdk

    stripe_world.pay(join(auth))
    stripe_world.deliver()
    customer = membership_of(app, reader).stripe_customer_id
    sdk = stripe_sdk.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}
    )
    sdk.v1.customers.delete(customer)  # staff deleted it in Stripe's dashboard
    stripe_world.deliver()
    assert membership_of(app, reader).status == "canceled"
    url = join(auth)  # at once, not a minute later
    stripe_world.pay(url)
    stripe_world.deliver()
    again = membership_of(app, reader)
    assert again.status == "active" and again.stripe_customer_id != customer
