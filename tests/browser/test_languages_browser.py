"""The region's languages in Chromium: the switcher without JavaScript, a reader who joins and a
donor who gives in Georgian and in Russian through the sandbox's Checkout, every page on the way
in that language with Babel's amounts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from membership.accounts.models import User
from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from tests.browser.conftest import shot
from tests.browser.languages import backers, english_left, money, say
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, campaign  # noqa: F401 - fixture

pytestmark = pytest.mark.browser
OWN_NAMES = {"en": "English", "ka": "ქართული", "hy": "Հայերեն", "az": "Azərbaycanca",
             "ru": "Русский"}  # fmt: skip


@pytest.fixture
def catalogue(app):
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def speaks(page, lang: str) -> None:
    """The page is in `lang`: <html lang> and dir say so, and no English sentence of the
    interface is left on it (the data, such as a plan's name, may be in any language); in
    English, the same look finds them."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    left = english_left(page)
    assert bool(left) == (lang == "en"), f"{page.url} in {lang}: {left}"


def test_the_switcher_needs_no_script_names_each_language_in_itself_and_is_remembered(
    app, live_server, browser
):
    with app.app_context():
        make_user(email="ani@example.org", name="Ani", locale="en")
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/plans")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        switcher = page.locator("form.lang-switch")
        assert switcher.locator("option").all_inner_texts() == list(OWN_NAMES.values())

        switcher.locator("select").select_option(label="ქართული")
        switcher.get_by_role("button").click()  # a plain GET form: no script involved
        expect(page.get_by_role("heading", level=1)).to_have_text(say(app, "ka", "Become a member"))
        speaks(page, "ka")
        assert {"name": "lang", "value": "ka"}.items() <= _cookie(context, "lang").items()
        page.goto(f"{live_server}/")  # remembered, with no ?lang= in the address
        speaks(page, "ka")
        expect(switcher.locator("option[selected]")).to_have_text("ქართული")

        # Signed in, the account's language (English) wins over the cookie; choosing Русский
        # with the switcher makes it the account's, which another device then gets.
        page.goto(f"{live_server}/login")
        page.get_by_label(say(app, "ka", "E-mail"), exact=True).fill("ani@example.org")
        page.get_by_label(say(app, "ka", "Password"), exact=True).fill(PASSWORD)
        page.get_by_role("button", name=say(app, "ka", "Sign in")).click()
        page.wait_for_url(f"{live_server}/account")
        speaks(page, "en")
        switcher.locator("select").select_option(label="Русский")
        switcher.get_by_role("button").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            say(app, "ru", "Hello, %(name)s", name="Ani")
        )
        speaks(page, "ru")
        with app.app_context():
            assert db.session.scalar(select(User.locale).where(User.name == "Ani")) == "ru"
    finally:
        context.close()


def checkout(app, page, lang: str, minor: int) -> None:
    """Stripe's Checkout speaks Russian but not Georgian: the app asks for `ru`, else `auto`,
    the browser's language (English here); either way the amount is written in that language."""
    shown = lang if lang == "ru" else "en"
    expect(page.locator("html")).to_have_attribute("lang", shown)
    expect(page.locator("main")).to_contain_text(money(app, shown, minor, "eur"))


def _cookie(context, name: str) -> dict:
    return next((c for c in context.cookies() if c["name"] == name), {})


@pytest.mark.parametrize("lang", ["ka", "ru"])
def test_a_reader_joins_in_their_language(app, live_server, page, sandbox, catalogue, lang):
    sandbox.reset()
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    try:
        page.goto(f"{live_server}/?lang={lang}")
        speaks(page, lang)
        page.locator("header").get_by_role("link", name=say(app, lang, "Become a member")).click()
        page.wait_for_url(f"{live_server}/register")
        speaks(page, lang)
        # The new account takes the language the reader was reading in.
        expect(page.locator("main").get_by_label(say(app, lang, "Language"))).to_have_value(lang)
        expect(page.locator('[autocomplete="None"]')).to_have_count(0)  # autofill hints are real
        page.get_by_label(say(app, lang, "E-mail"), exact=True).fill(f"{lang}@example.org")
        page.get_by_label(say(app, lang, "Name"), exact=True).fill("Нино")
        page.get_by_label(say(app, lang, "Password"), exact=True).fill("seven quiet rivers sing")
        page.get_by_role("button", name=say(app, lang, "Create account")).click()
        page.wait_for_url(f"{live_server}/account")
        speaks(page, lang)

        page.goto(f"{live_server}/plans")
        plan = page.locator("#plan-supporter")
        expect(plan.locator(".price")).to_contain_text(money(app, lang, 500, "eur"))
        expect(plan.locator(".price")).to_contain_text(money(app, lang, 5000, "eur"))
        speaks(page, lang)
        shot(page, f"{lang}/flow-join-plans")
        plan.get_by_role("button", name=say(app, lang, "Join with %(plan)s", plan="Supporter"))\
            .click()  # fmt: skip

        page.wait_for_url(f"{sandbox.url}/**")
        checkout(app, page, lang, 500)
        page.locator("input[name=card]").fill("4242 4242 4242 4242")
        page.locator("button[name=action][value=pay]").click()

        page.wait_for_url(f"{live_server}/checkout/success**")
        # The page refreshes itself until the webhook has arrived; the welcome has no refresh.
        welcome = say(app, lang, "Welcome, member!")
        expect(page.get_by_role("heading", name=welcome)).to_be_visible(timeout=20_000)
        page.wait_for_load_state()
        speaks(page, lang)
        shot(page, f"{lang}/flow-join-thanks")

        page.goto(f"{live_server}/account")
        speaks(page, lang)
        status = page.locator("#membership .status")
        expect(status).to_contain_text("Supporter")
        expect(status).to_contain_text(money(app, lang, 500, "eur"))
        expect(status).to_contain_text(say(app, lang, "active"))
        payment = page.locator("#payments tbody tr").first
        expect(payment).to_contain_text(say(app, lang, "%(plan)s, monthly", plan="Supporter"))
        expect(payment).to_contain_text(money(app, lang, 500, "eur"))
        shot(page, f"{lang}/flow-join-account")
    finally:
        sandbox.set_webhook_url(None)


@pytest.mark.parametrize("lang", ["ka", "ru"])
def test_a_donor_gives_in_their_language_and_the_bar_moves(
    app,
    live_server,
    page,
    sandbox,
    campaign,  # noqa: F811
    lang,
):
    sandbox.reset()
    sandbox.set_chaos(False)
    sandbox.set_webhook_url(f"{live_server}/webhooks/stripe")
    try:
        page.goto(f"{live_server}/fundraisers/{SLUG}?lang={lang}")
        watcher = page.context.new_page()  # the same campaign page, left open in a second tab
        watcher.goto(f"{live_server}/fundraisers/{SLUG}")  # the cookie keeps the language
        speaks(watcher, lang)
        raised = watcher.locator('#progress [data-field="raised"]')
        expect(raised).to_have_text(money(app, lang, 0, "eur"))
        counted = watcher.locator("#progress .backers")
        expect(counted).to_have_text(backers(app, lang, 0))

        page.get_by_label(say(app, lang, "Your own amount"), exact=True).fill("30")
        page.locator("#outlet").select_option("river-daily")
        page.get_by_role("button", name=say(app, lang, "Give now")).click()

        page.wait_for_url(re.compile(re.escape(sandbox.url)))
        checkout(app, page, lang, 3000)
        page.locator("input[name=email]").fill(f"donor-{lang}@example.org")
        page.locator("input[name=card]").fill("4242 4242 4242 4242")
        page.locator("button[name=action][value=pay]").click()

        page.wait_for_url(re.compile(rf"{re.escape(live_server)}/fundraisers/{SLUG}/thanks"))
        # The thanks page refreshes itself while the gift is pending; the confirmed one names
        # the amount, in the reader's language and format.
        thanks = page.locator("#thanks")
        expect(thanks).to_contain_text(
            say(app, lang, "Your gift of %(amount)s to %(target)s has arrived.",
                amount=money(app, lang, 3000, "eur"), target="River Daily"),
            timeout=20_000,
        )  # fmt: skip
        page.wait_for_load_state()
        speaks(page, lang)
        shot(page, f"{lang}/flow-gift-thanks")

        # The open tab's script rewrote the figures itself, as Babel writes them in `lang`.
        expect(raised).to_have_text(money(app, lang, 3000, "eur"), timeout=20_000)
        expect(watcher.locator('[data-outlet="river-daily"]')).to_have_text(
            money(app, lang, 3000, "eur")
        )
        expect(counted).to_have_text(backers(app, lang, 1))
        speaks(watcher, lang)
        shot(watcher, f"{lang}/flow-gift-bar-moved")
    finally:
        sandbox.set_webhook_url(None)
