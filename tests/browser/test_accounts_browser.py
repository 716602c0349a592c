"""A reader registers, confirms the address, signs out and in again, in a real Chromium."""

from __future__ import annotations

import time

import pytest

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
    assert page.get_by_role("heading", name="Hello, თამარ").is_visible()
    assert page.locator("#verify-notice").is_visible()
    shot(page, "account-unverified")

    link = mailbox.link_in(mail_to(mailbox, "tamar@example.org"), "/verify-email/")
    page.goto(f"{live_server}{link}")
    assert page.locator("#verify-notice").count() == 0
    assert page.get_by_text("your e-mail address is confirmed").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("E-mail", exact=True).fill("TAMAR@example.org")
    page.get_by_label("Password", exact=True).fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("That e-mail and password do not match an account.").is_visible()
    shot(page, "login-error")
    page.get_by_label("Password", exact=True).fill("three blue horses gallop")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")
    assert page.get_by_role("heading", name="Hello, თამარ").is_visible()
    shot(page, "account")


def mail_to(mailbox, address: str, timeout: float = 15.0):
    """The newest mail to `address`, once it arrives: the server sends it after the answer."""
    deadline = time.monotonic() + timeout
    while not mailbox.to(address) and time.monotonic() < deadline:
        time.sleep(0.02)
    return mailbox.last_to(address)
