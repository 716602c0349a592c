"""A reader gives to the collective fundraiser through the sandbox's Checkout in Chromium and
watches the campaign page's bar move without reloading it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.fundraisers.conftest import SLUG, campaign  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_give_through_checkout_and_see_the_bar_move(live_server, page, sandbox, campaign):  # noqa: F811
    sandbox.reset()
    sandbox.set_chaos(False)
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    try:
        page.goto(f"{live_server}/fundraisers/{SLUG}")
        expect(page.locator('#progress [data-field="raised"]')).to_have_text("€0.00")
        shot(page, "fundraiser-before")

        # A second tab keeps the campaign page open: its bar must move by itself.
        watcher = page.context.new_page()
        watcher.goto(f"{live_server}/fundraisers/{SLUG}")

        page.get_by_label("Your own amount").fill("30")
        page.locator("#outlet").select_option("river-daily")
        page.get_by_label(re.compile("Name on the supporters")).fill("Tamar")
        page.get_by_label("A message for the newsrooms").fill("<b>Onwards</b>")
        shot(page, "fundraiser-form")
        page.get_by_role("button", name="Give now").click()

        page.wait_for_url(re.compile(re.escape(sandbox.url)))
        page.get_by_label("Email").fill("tamar@example.org")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry").fill("12 / 34")
        page.get_by_label("CVC").fill("123")
        shot(page, "fundraiser-checkout")
        page.get_by_role("button", name=re.compile("^Pay")).click()

        page.wait_for_url(re.compile(rf"{re.escape(live_server)}/fundraisers/{SLUG}/thanks"))
        # The thanks page refreshes itself (meta refresh) while the gift is pending: wait for the
        # confirmed page, which names the amount and refreshes no more, before going on.
        expect(page.locator("#thanks").get_by_text("€30.00")).to_be_visible(timeout=20_000)
        page.wait_for_load_state()
        shot(page, "fundraiser-thanks")

        expect(watcher.locator('#progress [data-field="raised"]')).to_have_text(
            "€30.00", timeout=20_000
        )
        expect(watcher.locator('[data-outlet="river-daily"]')).to_have_text("€30.00")
        expect(watcher.locator('#progress [data-field="backers"]')).to_have_text("1")
        shot(watcher, "fundraiser-bar-moved")

        page.goto(f"{live_server}/fundraisers/{SLUG}")
        expect(page.locator("#wall").get_by_text("Tamar")).to_be_visible()
        expect(page.locator("#wall").get_by_text("<b>Onwards</b>")).to_be_visible()
        shot(page, "fundraiser-after")
    finally:
        sandbox.set_webhook_url(None)
