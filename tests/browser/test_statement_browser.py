"""A donor's statement in Chromium: a finished document on screen, the site's chrome left off
when printed, and its PDF link answering a PDF; in Georgian with the lari as Babel writes it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from membership.donors import links
from membership.extensions import db
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.donors.conftest import LAST_YEAR, at, campaigns, gift, refund  # noqa: F401
from tests.factories import make_user
from tests.fundraisers.conftest import campaign  # noqa: F401 - the fixture campaigns needs

pytestmark = pytest.mark.browser


@pytest.fixture
def statement_path(app, campaigns):  # noqa: F811 - the fixture imported above
    with app.app_context():
        first = gift(campaigns["eur"], 5000, at(LAST_YEAR, 2), email="ana@example.org")
        gift(campaigns["eur"], 2500, at(LAST_YEAR, 3), email="ana@example.org",
             outlet="river-daily")  # fmt: skip
        gift(campaigns["gel"], 12050, at(LAST_YEAR, 9), email="ana@example.org",
             outlet="mountain-post", monthly=True)  # fmt: skip
        refund(first, 1500, at(LAST_YEAR, 5))
        db.session.commit()
        return f"/donors/statement/{links.make_token('ana@example.org', LAST_YEAR)}"


def test_the_statement_reads_as_a_document_and_prints_without_the_site(
    live_server, page, statement_path
):
    page.goto(f"{live_server}{statement_path}?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Statement of gifts {LAST_YEAR}")
    totals = page.locator("table.totals tbody tr")
    expect(totals).to_have_count(2)
    expect(totals.nth(0)).to_contain_text("€60.00")
    # The two tables' amount columns line up.
    edges = page.eval_on_selector_all(
        "table.statement-table:not(.totals) td.num",
        "cells => cells.map(c => Math.round(c.getBoundingClientRect().right))",
    )
    assert len(set(edges)) == 1, edges
    shot(page, "statement-en")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".statement-actions")).to_be_hidden()
    shot(page, "statement-en-print")
    page.emulate_media(media="screen")
    href = page.get_by_role("link", name="Download the PDF").get_attribute("href")
    answer = page.request.get(f"{live_server}{href}")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")


def test_the_statement_in_georgian_on_a_phone(live_server, page, statement_path):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server}{statement_path}?lang=ka")
    expect(page.get_by_role("heading", level=1)).to_contain_text("ამონაწერი")
    expect(page.locator("table.totals")).to_contain_text("120,50\xa0₾")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width  # nothing sticks out sideways
    shot(page, "statement-ka-phone")


def test_a_signed_in_reader_opens_a_years_statement_from_the_account_page(
    app,
    live_server,
    page,
    campaigns,  # noqa: F811 - the fixture imported above
):
    with app.app_context():
        nino = make_user(email="nino@example.org", name="Nino Beridze")
        gift(campaigns["eur"], 3000, at(LAST_YEAR, 3), user=nino, outlet="valley-voice")
        gift(campaigns["gel"], 2000, at(LAST_YEAR - 1, 3), user=nino)
        db.session.commit()
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("E-mail", exact=True).fill("nino@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/account$"))
    section = page.locator("#statements")
    expect(section.get_by_role("link")).to_have_count(4)
    section.scroll_into_view_if_needed()
    shot(page, "statement-account-section")
    section.get_by_role("link", name=f"Statement {LAST_YEAR}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Statement of gifts {LAST_YEAR}")
    expect(page.locator("#statement")).to_contain_text("Nino Beridze")
    expect(page.locator("table.totals")).to_contain_text("€30.00")
