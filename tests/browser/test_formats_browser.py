"""In a Georgian browser, the campaign page, the sandbox's Checkout and the page's live update
all write money the way Babel writes it in Georgian: the script that moves the bar puts the
server's strings in place, so the page never shows "€30.00" beside "10 000,00 €"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.fundraisers.conftest import SLUG, campaign  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def ka(major: str) -> str:
    return format_currency(Decimal(major), "EUR", locale="ka")


def english_amounts(text: str) -> list[str]:
    """Amounts written the English way ("€30.00", "€10,000.00")."""
    return re.findall(r"€\d[\d,]*\.\d\d", text)


def test_a_georgian_reader_sees_one_way_of_writing_money(live_server, browser, sandbox, campaign):  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ka-GE")
    page = context.new_page()
    sandbox.reset()
    sandbox.set_chaos(False)
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    try:
        page.goto(f"{live_server}/fundraisers/{SLUG}")
        expect(page.locator("html")).to_have_attribute("lang", "ka")
        expect(page.locator('#progress [data-field="raised"]')).to_have_text(ka("0"))
        assert ka("10000") in page.locator("#progress").inner_text()
        watcher = context.new_page()
        watcher.goto(f"{live_server}/fundraisers/{SLUG}")
        shot(page, "formats-ka-fundraiser-before")

        page.locator("#amount").fill("30")
        page.locator("#give-button").click()
        page.wait_for_url(re.compile(re.escape(sandbox.url)))
        expect(page.locator("html")).to_have_attribute("lang", "ka")  # auto: the browser's
        assert ka("30") in page.locator("main").inner_text()
        assert not english_amounts(page.locator("body").inner_text())
        page.locator("#email").fill("nino@example.org")
        page.locator("#card").fill("4242 4242 4242 4242")
        shot(page, "formats-ka-checkout")
        page.locator("button[name=action][value=pay]").click()
        page.wait_for_url(re.compile(rf"{re.escape(live_server)}/fundraisers/{SLUG}/thanks"))

        # The open tab's bar moves by itself, in Georgian.
        expect(watcher.locator('#progress [data-field="raised"]')).to_have_text(
            ka("30"), timeout=20_000
        )
        expect(watcher.locator('[data-outlet="mountain-post"]')).to_have_text(ka("10"))
        expect(watcher.locator('#progress [data-field="backers"]')).to_have_text("1")
        text = watcher.locator("body").inner_text()
        assert not english_amounts(text), english_amounts(text)
        assert ka("10000") in text and ka("30") in text
        shot(watcher, "formats-ka-fundraiser-moved")
    finally:
        sandbox.set_webhook_url(None)
        context.close()
