"""The cancel page in Chromium: a member asks to cancel, is asked why (a bad answer is shown at
its field), pauses for two months instead (the account says when it resumes), ends the pause,
and finally cancels with a reason; axe-core finds nothing serious on each page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from membership.billing.demo import seed_catalogue
from membership.billing.models import CancellationRequest
from membership.demo import Summary
from membership.extensions import db
from tests.browser.test_accessibility_browser import AUDIT, axe_source  # noqa: F401
from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.browser
# Where this test's screenshots go, to be looked at (CANCEL_SHOTS overrides).
SHOTS = Path(os.environ.get("CANCEL_SHOTS", "/work/notes/artifacts/cancel"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_serious_problems(page, what: str) -> None:
    found = page.evaluate(AUDIT)
    assert found["violations"] == [], (what, found["violations"])
    assert (found["h1"], found["main"]) == (1, 1), what


@pytest.fixture
def catalogue(app):
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def outcomes(app):
    with app.app_context():
        return [
            (r.outcome, r.reason, r.pause_months)
            for r in db.session.scalars(
                select(CancellationRequest).order_by(CancellationRequest.id)
            )
        ]


@pytest.mark.config(RETENTION_OFFER_PERCENT=25, RETENTION_OFFER_MONTHS=3)
def test_the_cancel_page_listens_pauses_and_cancels(
    app,
    live_server,
    page,
    sandbox,
    catalogue,
    axe_source,  # noqa: F811
):
    page.context.add_init_script(script=axe_source)
    sandbox.reset()
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    with app.app_context():
        make_user(email="lela@example.org", name="Lela")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill("lela@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")
    page.goto(f"{live_server}/plans")
    page.locator("#plan-supporter").get_by_role("button", name="Join with Supporter").click()
    page.wait_for_url(f"{sandbox.url}/**")
    page.locator("input[name=card]").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"{live_server}/checkout/success**")
    expect(page.get_by_role("heading", name="Welcome, member!")).to_be_visible(timeout=20_000)

    # The account's "Cancel" leads to the page that asks first.
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Cancel my membership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your membership")
    expect(page.get_by_role("group", name="How long?")).to_be_visible()
    expect(page.get_by_role("heading", name="Stay for 25% less")).to_be_visible()
    expect(page.get_by_text("€3.75 each instead of €5.00")).to_be_visible()
    no_serious_problems(page, "cancel page")
    shot(page, "cancel-page")

    # The comment box stops at 1,000 characters, as the server does.
    comment = page.get_by_label("Anything you would like to tell us?")
    expect(comment).to_have_attribute("maxlength", "1000")
    # A reason the page never offered (a stale or forged form): the page comes back with the
    # error at the reasons, the words kept, and nothing was done.
    comment.fill("Prices went up.")
    page.eval_on_selector("input[value=too_expensive]", "el => { el.value = 'bored'; }")
    page.get_by_label("It costs too much for me right now").check()
    page.get_by_role("button", name="Cancel my membership").click()
    expect(page.get_by_text("Choose one of the reasons, or none.")).to_be_visible()
    expect(page.get_by_role("group", name="Why are you leaving?")).to_have_attribute(
        "aria-describedby", "why-hint reason-errors"
    )
    expect(comment).to_have_value("Prices went up.")
    no_serious_problems(page, "cancel page with an error")
    shot(page, "cancel-page-error")
    assert outcomes(app) == []

    # A pause of two months instead.
    comment.fill("Travelling for a while.")
    page.get_by_label("I need a break for a while").check()
    page.get_by_label("2 months, until", exact=False).check()
    page.get_by_role("button", name="Pause my membership").click()
    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_text("Your membership is paused from")).to_be_visible()
    status = page.locator("#pause-status")
    expect(status).to_contain_text("It resumes on")
    expect(page.locator("#membership .badge.status-active")).to_have_text("active")  # until then
    no_serious_problems(page, "account, paused")
    shot(page, "account-paused")
    assert outcomes(app) == [("paused", "break", 2)]

    # Ended early: open again; then cancelled for good, with a reason.
    expect(status).to_contain_text("pauses on")  # at the end of the paid period, still ahead
    status.get_by_role("button", name="Cancel the pause").click()
    expect(page.get_by_text("The pause is cancelled")).to_be_visible()
    expect(page.locator("#pause-status")).to_have_count(0)
    page.get_by_role("link", name="Cancel my membership").click()
    cancel_url = page.url
    # The same page in Georgian (another script, longer words) must still look whole.
    page.goto(f"{cancel_url}?lang=ka")
    expect(page.locator("html")).to_have_attribute("lang", "ka")
    no_serious_problems(page, "cancel page, ka")
    shot(page, "cancel-page-ka")
    page.goto(f"{cancel_url}?lang=en")
    page.get_by_label("I don't read enough to make it worthwhile").check()
    page.get_by_role("button", name="Cancel my membership").click()
    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_text("will end with the paid period")).to_be_visible()
    expect(page.get_by_role("button", name="Resume my membership")).to_be_visible()
    shot(page, "account-cancelled")
    assert outcomes(app) == [("paused", "break", 2), ("cancelled", "not_reading", None)]


def test_staff_read_the_reasons_and_outcomes_by_month(
    app,
    live_server,
    page,
    sandbox,
    catalogue,
    axe_source,  # noqa: F811
):
    from membership.accounts.models import Role
    from membership.admin.demo import seed_volume

    page.context.add_init_script(script=axe_source)
    with app.app_context():
        seed_volume(Summary(), 300, lambda *a: None)
        from membership.billing.cancel_demo import seed_cancellation_reasons

        seed_cancellation_reasons(Summary(), 0, lambda *a: None)
        make_user(email="editor@example.org", name="Editor", role=Role.staff)
        db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill("editor@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(account|admin/?)$"))
    page.goto(f"{live_server}/admin/")
    page.get_by_role("navigation", name="Staff area").get_by_role(
        "link", name="Cancellations"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancellation reasons and outcomes")
    expect(page.get_by_role("heading", name="Outcomes by month")).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    no_serious_problems(page, "cancellation report")
    shot(page, "staff-cancellation-report")
