"""A visitor who presses Join before having an account goes on to that plan's Checkout once
registered or signed in, with the interval and amount they chose."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.accounts.models import User
from membership.billing.models import Plan
from membership.extensions import db
from tests.billing.conftest import catalogue, membership_of  # noqa: F401 - the demo plans
from tests.conftest import PASSWORD, csrf_token
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("catalogue")


def press_join(client, plan: str, interval: str, amount: str | None = None):
    """An anonymous visitor presses a plan's Join button on /plans."""
    data = {"interval": interval, "csrf_token": csrf_token(client, "/plans")}
    if amount is not None:
        data["amount"] = amount
    return client.post(f"/plans/{plan}/checkout", data=data)


def follow_to_checkout(client, response, stripe_world) -> str:
    """Follow this site's redirects; the first one off the site is where the reader lands."""
    while response.status_code in (302, 303):
        location = response.headers["Location"]
        if location.startswith(stripe_world.sandbox.url):
            return location
        assert location.startswith("/"), location
        response = client.get(location)
    raise AssertionError(f"stopped at {response.status_code} {response.request.path}")


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_register_then_straight_to_the_chosen_plans_checkout(app, client, auth, stripe_world):
    joined = press_join(client, "solidarity", "month", "7,50")
    assert joined.status_code == 303
    register_page = joined.headers["Location"]
    assert register_page.startswith("/register?next=")
    form = client.get(register_page).get_data(as_text=True)
    assert "Create your account" in form
    response = auth.post(
        register_page,
        {"email": "new@example.org", "password": PASSWORD, "name": "Nino", "locale": "en"},
    )
    url = follow_to_checkout(client, response, stripe_world)

    stripe_world.pay(url)
    stripe_world.deliver()
    membership = membership_of(app, user_id(app, "new@example.org"))
    with app.app_context():
        assert db.session.get(Plan, membership.plan_id).slug == "solidarity"
    assert (membership.interval, membership.amount, membership.status) == ("month", 750, "active")


def test_sign_in_then_straight_to_the_chosen_plans_checkout(app, client, auth, stripe_world):
    with app.app_context():
        make_user(email="reader@example.org")
    joined = press_join(client, "supporter", "year")
    register_page = joined.headers["Location"]
    # The registration page's "Sign in" link keeps where the reader was going.
    sign_in = client.get(register_page).get_data(as_text=True)
    assert 'href="/login?next=/plans/supporter/checkout/continue"' in sign_in
    response = auth.post(
        "/login?next=/plans/supporter/checkout/continue",
        {"email": "reader@example.org", "password": PASSWORD, "remember": "y"},
    )
    url = follow_to_checkout(client, response, stripe_world)

    stripe_world.pay(url)
    stripe_world.deliver()
    membership = membership_of(app, user_id(app, "reader@example.org"))
    assert (membership.interval, membership.amount) == ("year", 5000)


def test_the_continuation_needs_the_choice_made_in_this_browser(app, client, auth, stripe_world):
    """A link to the continuation from elsewhere starts no Checkout: it shows the plans."""
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    response = client.get("/plans/supporter/checkout/continue")
    assert response.status_code == 303
    assert response.headers["Location"] == "/plans#plan-supporter"
    assert stripe_world.sandbox.events() == []
