"""A reader joins through the sandbox's Checkout page in Chromium and sees the membership."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(app):
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def test_join_pay_in_checkout_and_see_the_membership(live_server, page, sandbox, catalogue):
    sandbox.reset()
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")

    page.goto(f"{live_server}/register")
    page.get_by_label("E-mail", exact=True).fill("ani@example.org")
    page.get_by_label("Name", exact=True).fill("Անի")
    page.get_by_label("Password", exact=True).fill("seven quiet rivers sing")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_server}/account")

    page.goto(f"{live_server}/plans")
    shot(page, "plans")
    page.locator("#plan-supporter").get_by_role("button", name="Join with Supporter").click()
    page.wait_for_url(f"{sandbox.url}/**")
    expect(page.get_by_text("Sandbox payments: no real money").first).to_be_visible()
    page.locator("input[name=card]").fill("4000 0000 0000 0002")
    shot(page, "checkout")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("declined").first).to_be_visible()
    shot(page, "checkout-declined")
    page.locator("input[name=card]").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe").click()

    page.wait_for_url(f"{live_server}/checkout/success**")
    # The page refreshes itself until the webhook has arrived; the welcome has no refresh.
    expect(page.get_by_role("heading", name="Welcome, member!")).to_be_visible(timeout=20_000)
    page.wait_for_load_state()
    shot(page, "checkout-success")
    page.goto(f"{live_server}/account")
    expect(page.locator("#membership").get_by_text("Supporter").first).to_be_visible()
    expect(page.locator('#my-perks [data-perk="members-only-articles"]')).to_be_visible()
    expect(page.locator("#payments").get_by_text("€5.00")).to_be_visible()
    shot(page, "account-member")

    page.get_by_role("link", name="Cancel my membership").click()  # the page that asks why
    page.get_by_role("button", name="Cancel my membership").click()
    expect(page.get_by_text("will end with the paid period")).to_be_visible()
    expect(page.get_by_role("button", name="Resume my membership")).to_be_visible()
    shot(page, "account-cancelled")
