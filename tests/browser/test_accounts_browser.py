"""A reader registers, confirms the address, signs out and in again, in a real Chromium."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def test_register_verify_login_account(live_server, page, mailbox):
    page.goto(f"{live_server}/")
    shot(page, "front-page")
    page.get_by_role("link", name="Become a member").first.click()
    page.get_by_label("E-mail", exact=True).fill("tamar@example.org")
    page.get_by_label("Name", exact=True).fill("თამარ")
    page.get_by_label("Password", exact=True).fill("three blue horses gallop")
    shot(page, "register")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_role("heading", name="Hello, თამარ")).to_be_visible()
    expect(page.locator("#verify-notice")).to_be_visible()
    shot(page, "account-unverified")

    link = mailbox.link_in(mail_to(mailbox, "tamar@example.org"), "/verify-email/")
    page.goto(f"{live_server}{link}")
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()
    expect(page.locator("#verify-notice")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_role("link", name="Sign in").first.click()
    page.wait_for_url(f"{live_server}/login**")
    page.get_by_label("E-mail", exact=True).fill("TAMAR@example.org")
    page.get_by_label("Password", exact=True).fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That e-mail and password do not match an account.")).to_be_visible()
    shot(page, "login-error")
    page.get_by_label("Password", exact=True).fill("three blue horses gallop")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_role("heading", name="Hello, თამარ")).to_be_visible()
    shot(page, "account")


def mail_to(mailbox, address: str, timeout: float = 15.0):
    """The newest mail to `address`, once it arrives: the server sends it after the answer."""
    deadline = time.monotonic() + timeout
    while not mailbox.to(address) and time.monotonic() < deadline:
        time.sleep(0.02)
    return mailbox.last_to(address)
