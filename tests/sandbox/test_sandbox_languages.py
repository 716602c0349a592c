"""The sandbox's pages speak the reader's language as Stripe chooses it: the session's `locale`,
or with `auto` the browser's Accept-Language; amounts and dates as that language writes them.
Like Stripe, it refuses a `locale` its hosted pages do not speak."""

from __future__ import annotations

import urllib.request
from decimal import Decimal

import pytest
import stripe
from babel.numbers import format_currency

from stripe_sandbox import i18n


def page(url: str, language: str = "") -> str:
    headers = {"Accept-Language": language} if language else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the local sandbox
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return answer.read().decode()


def words(language: str, message: str) -> str:
    i18n.use(language)
    try:
        return i18n._(message)
    finally:
        i18n.use("en")


@pytest.mark.parametrize("language", ["ka", "hy", "az", "ru"])
def test_auto_follows_the_browser(subscription_session, monthly, language):
    session = subscription_session(monthly.id, locale="auto")
    html = page(session.url, f"{language},en;q=0.5")
    banner = words(language, "Sandbox payments: no real money")
    assert banner != "Sandbox payments: no real money"
    assert f'<html lang="{language}"' in html and banner in html
    assert words(language, "Card number") in html and ">Card number<" not in html
    assert format_currency(Decimal("5.00"), "EUR", locale=language) in html
    assert "€5.00" not in html


def test_the_sessions_locale_wins_over_the_browser(subscription_session, monthly):
    html = page(subscription_session(monthly.id, locale="ru").url, "en")
    assert '<html lang="ru"' in html and words("ru", "Total due today") in html


def test_without_a_locale_or_a_browser_language_the_page_is_english(subscription_session, monthly):
    html = page(subscription_session(monthly.id).url)
    assert '<html lang="en"' in html and "Total due today" in html and "€5.00" in html


@pytest.mark.parametrize("locale", ["ka", "hy", "az", "xx"])
def test_a_locale_stripe_does_not_speak_is_refused(client, monthly, locale):
    with pytest.raises(stripe.InvalidRequestError, match="Invalid locale"):
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "https://news.example/ok", "locale": locale,
        })  # fmt: skip


def test_the_portal_speaks_the_sessions_language(client):
    customer = client.v1.customers.create(params={"email": "nino@example.org"})
    params = {"customer": customer.id, "return_url": "https://news.example/account",
              "locale": "auto"}  # fmt: skip
    portal = client.v1.billing_portal.sessions.create(params=params)
    html = page(portal.url, "ka")
    assert words("ka", "Your subscriptions") in html
    assert words("ka", "Return to the site") in html and "Return to the site" not in html
