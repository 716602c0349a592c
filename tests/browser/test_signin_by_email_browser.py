"""Sign-in by e-mail in a real Chromium: ask on the login page, confirm the link; type the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_accounts_browser import mail_to
from tests.factories import make_user

pytestmark = pytest.mark.browser

# Where these screenshots go for review (the helper's notes), besides artifacts/screenshots/.
NOTES = Path("/work/notes/artifacts/signin")


def keep(page, name: str) -> None:
    """A full-page screenshot in artifacts/screenshots/ and, when it exists, the notes folder."""
    shot(page, f"signin-{name}")
    if NOTES.is_dir():
        page.screenshot(path=str(NOTES / f"{name}.png"), full_page=True)


def html_part(message) -> str:
    return next(
        p.get_payload(decode=True).decode()
        for p in message.walk()
        if p.get_content_type() == "text/html"
    )


def test_ask_for_a_link_and_confirm_it(app, live_server, page, mailbox):
    with app.app_context():
        make_user(email="nino@example.org", name="Nino")
    page.goto(f"{live_server}/login?next=/plans")
    expect(page.get_by_role("heading", name="Sign in without a password")).to_be_visible()
    page.get_by_label("E-mail", exact=True).fill("nino@example.org")
    keep(page, "login-page")
    page.get_by_role("button", name="Send me a sign-in link").click()

    page.wait_for_url(f"{live_server}/login/code")
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_text("We sent a mail to nino@example.org")).to_be_visible()
    keep(page, "check-inbox")

    message = mail_to(mailbox, "nino@example.org")
    link = mailbox.link_in(message, "/login/email/")
    mail_page = page.context.new_page()
    mail_page.set_content(html_part(message))
    keep(mail_page, "mail-sign-in")
    mail_page.close()

    page.goto(f"{live_server}{link}")
    expect(page.get_by_text("Sign in as nino@example.org?")).to_be_visible()
    keep(page, "confirm-button")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/plans")
    expect(page.get_by_text("You are signed in.")).to_be_visible()

    page.goto(f"{live_server}{link}")  # once only
    expect(
        page.get_by_role("heading", name="This sign-in link does not work any more")
    ).to_be_visible()
    keep(page, "link-used")


def test_join_with_the_code_then_set_a_password(app, live_server, page, mailbox):
    page.goto(f"{live_server}/login/email")
    page.get_by_label("E-mail", exact=True).fill("tamar@example.org")
    keep(page, "request-page")
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.wait_for_url(f"{live_server}/login/code")

    message = mail_to(mailbox, "tamar@example.org")
    code = re.search(r"^ {4}(\d{6})\r?$", mailbox.body(message), re.M).group(1)
    mail_page = page.context.new_page()
    mail_page.set_content(html_part(message))
    keep(mail_page, "mail-join")
    mail_page.close()

    field = page.get_by_label("Code from the e-mail")
    field.fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is wrong, used or expired.")).to_be_visible()
    keep(page, "code-wrong")
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_text("Welcome! Your account is ready.")).to_be_visible()
    expect(page.get_by_role("link", name="Set a password (optional)")).to_be_visible()
    keep(page, "account-joined")
    page.get_by_role("link", name="Set a password (optional)").click()
    expect(page.get_by_role("heading", name="Set a password")).to_be_visible()
    keep(page, "set-password")


def test_login_page_on_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    phone = context.new_page()
    phone.goto(f"{live_server}/login")
    expect(phone.get_by_role("button", name="Send me a sign-in link")).to_be_visible()
    keep(phone, "login-page-phone")
    context.close()
