"""The main pages in each of the five languages, at a desktop's and a 375 px phone's width:
saved under artifacts/screenshots/<lang>/ for people to look at, and on each of them the
interface speaks that one language, nothing is wider than its box or the screen, and the
fundraiser's figures stay Babel's once the page's script has rewritten them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers.models import Donation
from tests.billing.conftest import join
from tests.browser.conftest import SCREENSHOTS
from tests.browser.languages import LANGUAGES, backers, english_left, money
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, campaign, give_and_pay  # noqa: F401 - fixture

pytestmark = pytest.mark.browser
DESKTOP, PHONE = 1200, 375
GIFT = 123_450  # €1,234.50: big enough for a group separator

# Whatever sticks out: the page wider than the window, a control or heading past the window's
# edge or past its card's, text cut off inside its box. What scrolls sideways is not cut off.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth, found = [];
  if (document.documentElement.scrollWidth > width + 1) {
    found.push(`page ${document.documentElement.scrollWidth} px wide`);
  }
  const watched = "button, .button, nav a, label, select, input, h1, h2, h3, table, th, td, .badge";
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  for (const el of document.querySelectorAll(watched)) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // hidden, or for screen readers only
    let up = el.parentElement;  // inside a box that scrolls sideways: reachable, not cut off
    while (up && !scrolls(up)) up = up.parentElement;
    if (up) continue;
    const text = (el.innerText || el.value || "").trim().slice(0, 30);
    const what = `${el.tagName.toLowerCase()} "${text}"`;
    if (box.right > width + 1 || box.left < -1) found.push(`${what} past the window`);
    const card = el.parentElement && el.parentElement.closest(".card, .stat");
    const edge = card ? card.getBoundingClientRect().right : Infinity;
    if (box.right > edge + 1) found.push(`${what} past its card`);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "hidden") {
      found.push(`${what} cut off`);
    }
  }
  return found;
}"""


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("main input[name=email]").fill(email)
    page.locator("main input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/account")


def test_main_pages_in_every_language_fit_a_phone_and_speak_one_language(
    app,
    live_server,
    browser,
    auth,
    stripe_world,
    campaign,  # noqa: F811
):
    with app.app_context():
        make_user(email="tamar@example.org", name="Tamar")
        make_user(email="staff@example.org", name="Levan", role=Role.staff)
    auth.login(email="tamar@example.org")
    stripe_world.pay(join(auth))
    stripe_world.deliver()

    # The campaign page open in every language while a gift lands: each tab's script rewrites
    # the figures, and must write them as Babel does in that language.
    visitor = browser.new_context(viewport={"width": DESKTOP, "height": 900}, locale="en-US")
    tabs = {}
    for lang in LANGUAGES:
        tabs[lang] = visitor.new_page()
        tabs[lang].goto(f"{live_server}/fundraisers/{SLUG}?lang={lang}")
    give_and_pay(auth, stripe_world, amount="1234.50", outlet="river-daily",
                 email="tamar@example.org")  # fmt: skip
    for lang, tab in tabs.items():
        expect(tab.locator('#progress [data-field="raised"]')).to_have_text(
            money(app, lang, GIFT, "eur"), timeout=20_000
        )
        outlet = tab.locator('[data-outlet="river-daily"]')
        expect(outlet).to_have_text(money(app, lang, GIFT, "eur"))
        expect(tab.locator("#progress .backers")).to_have_text(backers(app, lang, 1))
        tab.close()
    with app.app_context():
        donation = db.session.scalar(select(Donation))
        thanks = (f"/fundraisers/{SLUG}/thanks?donation={donation.id}"
                  f"&session_id={donation.stripe_checkout_session_id}")  # fmt: skip

    reader = browser.new_context(viewport={"width": DESKTOP, "height": 900}, locale="en-US")
    staff = browser.new_context(viewport={"width": DESKTOP, "height": 900}, locale="en-US")
    visits = [
        (visitor.new_page(), {"home": "/", "plans": "/plans", "fundraiser": f"/fundraisers/{SLUG}",
                              "login": "/login", "register": "/register",
                              "login-email": "/login/email", "login-code": "/login/code"}),
        (reader.new_page(), {"account": "/account", "join-thanks": "/checkout/success",
                             "gift-thanks": thanks}),
        (staff.new_page(), {"staff": "/admin", "staff-members": "/admin/members"}),
    ]  # fmt: skip
    sign_in(visits[1][0], live_server, "tamar@example.org")
    sign_in(visits[2][0], live_server, "staff@example.org")

    problems = []
    try:
        for lang in LANGUAGES:
            for tab, pages in visits:
                for n, (name, path) in enumerate(pages.items()):
                    # The first page through the switcher (?lang=): the cookie, or the account.
                    url = f"{live_server}{path}" + ("" if n else f"?lang={lang}")
                    found = look(tab, url, lang, name)
                    problems += [f"{lang} {name}{problem}" for problem in found]
    finally:
        for context in (visitor, reader, staff):
            context.close()
    assert problems == [], "\n".join(problems)


def look(tab, url: str, lang: str, name: str) -> list[str]:
    """Open `url` at a desktop's width, then a phone's: a screenshot of each under
    artifacts/screenshots/<lang>/, and what is wrong with the page."""
    folder = SCREENSHOTS / lang
    folder.mkdir(parents=True, exist_ok=True)
    tab.set_viewport_size({"width": DESKTOP, "height": 900})
    tab.goto(url)
    found = []
    if tab.locator("html").get_attribute("lang") != lang:
        found.append(f": <html lang> is not {lang}")
    left = english_left(tab)
    if bool(left) != (lang == "en"):  # in English, the same look must find English
        found.append(f": English left: {left}")
    found += [f": {problem}" for problem in tab.evaluate(OVERFLOW)]
    tab.screenshot(path=str(folder / f"{name}.jpg"), full_page=True, quality=85)
    tab.set_viewport_size({"width": PHONE, "height": 800})
    found += [f" at {PHONE} px: {problem}" for problem in tab.evaluate(OVERFLOW)]
    tab.screenshot(path=str(folder / f"{name}-{PHONE}.jpg"), full_page=True, quality=85)
    return found
