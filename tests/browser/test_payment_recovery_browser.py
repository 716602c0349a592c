"""A member whose renewal failed sees the banner in Chromium, updates the card in the billing
portal from it, and the banner goes; staff read the recovery funnel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from membership.accounts.models import Role
from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(app):
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")


def test_the_banner_leads_to_the_portal_and_goes_once_paid(
    app, live_server, page, sandbox, catalogue
):
    sandbox.reset()
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    with app.app_context():
        make_user(email="eka@example.org", name="Eka")
    sign_in(page, live_server, "eka@example.org")
    page.goto(f"{live_server}/plans")
    page.locator("#plan-supporter").get_by_role("button", name="Join with Supporter").click()
    page.wait_for_url(f"{sandbox.url}/**")
    page.locator("input[name=card]").fill("4000 0000 0000 0341")  # fails every renewal
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"{live_server}/checkout/success**")
    expect(page.get_by_role("heading", name="Welcome, member!")).to_be_visible(timeout=20_000)

    sandbox.advance_clock(seconds=31 * 86400)  # the renewal fails
    assert sandbox.wait_for_deliveries(15)
    page.goto(f"{live_server}/account")
    banner = page.locator("#payment-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("heading")).to_have_text(
        "Your membership payment of €5.00 did not go through"
    )
    expect(banner.get_by_role("link", name="Pay this invoice")).to_be_visible()
    shot(page, "account-payment-failing")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "account-payment-failing-phone")
    page.set_viewport_size({"width": 1200, "height": 900})

    banner.get_by_role("button", name="Update my card").click()
    page.wait_for_url(f"{sandbox.url}/p/session/**")
    page.get_by_label("New card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Update card").click()
    expect(page.get_by_text("Your card was updated.")).to_be_visible()
    assert sandbox.wait_for_deliveries(15)
    page.get_by_role("link", name="Return to the site").click()
    page.wait_for_url(f"{live_server}/account")
    expect(page.locator("#payment-banner")).to_have_count(0)
    expect(page.locator("#payments").get_by_text("€5.00")).to_have_count(2)
    shot(page, "account-payment-recovered")


def test_staff_read_the_recovery_funnel(app, live_server, page, catalogue, runner):
    assert runner.invoke(args=["demo", "seed", "--members", "300"]).exit_code == 0
    with app.app_context():
        make_user(email="desk@example.org", name="Desk", role=Role.staff)
    sign_in(page, live_server, "desk@example.org")
    page.goto(f"{live_server}/admin/reports")
    page.locator(".admin-nav").get_by_role("link", name="Payment recovery").click()
    expect(page.get_by_role("heading", name="Payment recovery", exact=True)).to_be_visible()
    expect(page.locator("table.report").first).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, "admin-payment-recovery")
