"""Every reader and staff page in Chromium, checked by axe-core: no serious or critical
violation, one <h1> and one <main> per page (the embed widget too); the login form works from
the keyboard and shows where the focus is."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from membership.accounts import tokens
from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.billing.models import Membership, Plan
from membership.demo import DEMO_STAFF_EMAIL
from membership.demo import seed as demo_seed
from membership.donors import links as statement_links
from membership.donors.demo import DONOR as DEMO_DONOR
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.demo import SLUG
from membership.fundraisers.models import Campaign, Donation
from membership.gifts.models import GiftMembership
from membership.perks.models import Perk
from membership.timeutil import utcnow
from tests.billing.conftest import join
from tests.browser.conftest import shot
from tests.conftest import PASSWORD, unavailable
from tests.factories import make_user
from tests.fundraisers.conftest import give, give_and_pay

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
READER = "tamar@example.org"
# What a page reports: axe's serious and critical violations, and its headings and landmarks.
AUDIT = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return {
    violations: result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} at ` +
        v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")),
    h1: document.querySelectorAll("h1").length,
    main: document.querySelectorAll("main, [role=main]").length,
  };
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as `npm ci --prefix tests/browser/axe` installs it (make install does)."""
    if not AXE.exists():
        unavailable("browser", f"no axe-core at {AXE}: npm ci --prefix tests/browser/axe")
    return AXE.read_text(encoding="utf-8")


def audit(page, path: str, problems: list[str]) -> None:
    """Note what axe and the heading/landmark counts find wrong on the page now shown."""
    found = page.evaluate(AUDIT)
    problems.extend(f"{path}: {v}" for v in found["violations"])
    if found["h1"] != 1:
        problems.append(f"{path}: {found['h1']} h1 elements")
    if found["main"] != 1:
        problems.append(f"{path}: {found['main']} main landmarks")


def visit(page, base: str, path: str, problems: list[str], status: int = 200) -> None:
    """Open a page, check it answered `status`, audit it (and keep a screenshot of some)."""
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == status, (path, response and response.status)
    audit(page, path, problems)
    if path in SHOTS:
        shot(page, f"a11y-{SHOTS[path]}")


# Pages whose screenshot is kept under artifacts/screenshots/ (a11y-<name>.png), to look at.
SHOTS = {
    "/": "front-page",
    "/plans": "plans",
    "/login": "login",
    f"/fundraisers/{SLUG}": "campaign",
    f"/fundraisers/{SLUG}/embed": "embed",
    "/gift": "gift",
    "/account": "account",
    "/admin/": "staff-dashboard",
    "/admin/webhooks": "staff-webhooks",
    "/admin/access/rules": "staff-access-rules",
}


def described_text(page, selector: str) -> str:
    """What a screen reader reads after a field's label: the elements its aria-describedby names."""
    return page.eval_on_selector(
        selector,
        """el => (el.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean)
                 .map((id) => document.getElementById(id)?.textContent.trim() ?? `(no #${id})`)
                 .join(" ")""",
    )


def sign_in(page, base: str, email: str) -> None:
    """Sign in through the form, as a reader does."""
    page.goto(f"{base}/login")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(account|admin/?)$"))


@pytest.fixture
def world(app, auth, stripe_world):
    """The demo data, plus a reader with a membership, a monthly gift and a gift bought, and the
    demo staff account with a password this test knows."""
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 0
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 0
    totals.MEMO.clear()
    with app.app_context():
        demo_seed(members=12, echo=lambda *a: None)
        db.session.execute(
            update(User)
            .where(User.email == DEMO_STAFF_EMAIL)
            .values(password_hash=hash_password(PASSWORD))
        )
        db.session.commit()
        reader_id = make_user(email=READER, name="Tamar").id
    auth.login(email=READER)
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    give_and_pay(auth, stripe_world, amount="12", frequency="monthly", outlet="river-daily",
                 email=READER, slug=SLUG)  # fmt: skip
    give(auth, amount="7", slug=SLUG)  # not paid (yet): its thank-you page waits for Stripe
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
        db.session.add(
            GiftMembership(code="GIFT-7KQ2-M9XD-4HPT", plan_id=plan.id, months=6, amount=3000,
                           currency="eur", buyer_id=reader_id, buyer_email=READER,
                           recipient_email="friend@example.org", status="paid",
                           paid_at=utcnow() - timedelta(days=2))
        )  # fmt: skip
        db.session.commit()
        donation = db.session.scalar(select(Donation).where(Donation.email == READER))
        pending = db.session.scalar(select(Donation).where(Donation.amount == 700))
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
        from membership.accounts.signin_links import send_sign_in_link

        send_sign_in_link(db.session.get(User, reader_id))
        db.session.commit()  # sends the mail: its link is the sign-in confirm page
        sign_in_link = auth.mailbox.link_in(auth.mailbox.last_to(READER), "/login/email/")
        yield {
            "sign_in_link": sign_in_link,
            "reader": reader_id,
            "donation": donation.id,
            "thanks": thanks_path(donation),
            "thanks_pending": thanks_path(pending),
            "campaign": campaign.id,
            "plan": plan.id,
            "perk": db.session.scalar(select(Perk.id).limit(1)),
            "reset": tokens.make_token(tokens.RESET, {"u": reader_id, "g": 0}),
            "statement": statement_links.make_token(DEMO_DONOR, utcnow().year),
            "member": db.session.scalar(
                select(User.id).where(User.role == Role.member, User.id != reader_id).limit(1)
            ),
            "membership": db.session.scalar(
                select(Membership.id).where(Membership.user_id == reader_id)
            ),
        }


def thanks_path(donation: Donation) -> str:
    """The page Checkout sends a donor back to."""
    return (f"/fundraisers/{SLUG}/thanks?donation={donation.id}"
            f"&session_id={donation.stripe_checkout_session_id}")  # fmt: skip


def test_every_page_passes_axe_with_one_h1_and_one_main(live_server, page, axe_source, world):
    page.context.add_init_script(script=axe_source)
    base, problems = live_server, []

    # A visitor.
    for path in ["/", "/plans", "/register", "/login", "/reset-password", "/login/email",
                 "/login/code", world["sign_in_link"],
                 f"/reset-password/{world['reset']}",
                 "/checkout/cancel", "/gift", "/gift/redeem", "/gift/thanks",
                 f"/fundraisers/{SLUG}", f"/fundraisers/{SLUG}/embed", world["thanks"],
                 world["thanks_pending"], f"/fundraisers/{SLUG}/thanks",
                 "/demo/article/the-river-report",
                 f"/donors/statement/{world['statement']}"]:  # fmt: skip
        visit(page, base, path, problems)
    visit(page, base, "/reset-password/not-a-token", problems, status=400)  # link_invalid
    visit(page, base, "/login/email/not-a-token", problems, status=400)  # a used sign-in link
    visit(page, base, "/no-such-page", problems, status=404)
    shot(page, "a11y-error-404")
    # Forms sent back with errors: each error is tied to its field.
    page.goto(f"{base}/register")
    page.get_by_label("E-mail", exact=True).fill("not an address")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    assert "e-mail address" in described_text(page, "#email"), described_text(page, "#email")
    assert "At least 10 characters" in described_text(page, "#password")
    audit(page, "/register (errors)", problems)
    shot(page, "a11y-register-errors")
    page.goto(f"{base}/fundraisers/{SLUG}")
    page.get_by_label("Your own amount").fill("1")
    page.get_by_role("button", name="Give now").click()
    expect(page.get_by_label("Your own amount")).to_have_attribute("aria-invalid", "true")
    assert "The smallest gift is €5.00." in described_text(page, "#amount")
    audit(page, "/fundraisers (errors)", problems)
    shot(page, "a11y-fundraiser-errors")

    # The reader, signed in.
    sign_in(page, base, READER)
    for path in ["/account", "/account/email", "/account/password", "/account/delete",
                 f"/account/donations/{world['donation']}/stop", "/checkout/success",
                 f"/account/membership/{world['membership']}/cancel"]:  # fmt: skip
        visit(page, base, path, problems)
    visit(page, base, "/admin/", problems, status=403)
    page.get_by_role("button", name="Sign out").click()

    # Staff.
    sign_in(page, base, DEMO_STAFF_EMAIL)
    campaign, member = world["campaign"], world["member"]
    from membership.admin.report_views import REPORTS  # imported with the app, not before it

    for path in ["/admin/", "/admin/members", f"/admin/members/{member}",
                 f"/admin/members/{world['reader']}", "/admin/reports",
                 *[f"/admin/reports/{slug}" for slug in REPORTS], "/admin/webhooks",
                 "/admin/catalogue", "/admin/catalogue/plans/new",
                 f"/admin/catalogue/plans/{world['plan']}", "/admin/catalogue/perks/new",
                 f"/admin/catalogue/perks/{world['perk']}", "/admin/fundraisers/",
                 f"/admin/fundraisers/{campaign}", "/admin/access/rules",
                 "/admin/access/keys"]:  # fmt: skip
        visit(page, base, path, problems)
    visit(page, base, "/checkout/success", problems)  # no membership: waiting for Stripe

    assert not problems, "\n".join(problems)


def test_login_from_the_keyboard_with_a_visible_focus(app, live_server, page):
    with app.app_context():
        make_user(email=READER, name="Tamar")
    page.goto(f"{live_server}/login")
    page.keyboard.press("Tab")  # the first stop: a link past the header, shown once focused
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shot(page, "a11y-skip-link")
    outlines = {"skip link": page.evaluate(FOCUSED)["outline"]}
    for _ in range(25):  # from the top of the page to the e-mail field, by Tab alone
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        outlines[focused["name"]] = focused["outline"]
        if focused["id"] == "email":
            break
    else:
        pytest.fail(f"Tab never reached the e-mail field; it went through {list(outlines)}")
    page.keyboard.type(READER)
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["id"] == "password"
    page.keyboard.type(PASSWORD)
    shot(page, "a11y-login-keyboard-focus")
    no_ring = [name for name, outline in outlines.items() if not outline]
    assert not no_ring, f"no visible focus outline on {no_ring}"
    assert page.evaluate(FOCUSED)["outline"], "the password field shows no focus outline"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/account")
    expect(page.get_by_role("heading", name="Hello, Tamar")).to_be_visible()


def test_language_switcher_from_the_keyboard(live_server, page):
    page.goto(f"{live_server}/login")
    switcher = page.get_by_label("Language")
    for _ in range(30):  # Tab down the page to the switcher
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED)["id"] == "lang":
            break
    else:
        pytest.fail("Tab never reached the language switcher")
    assert page.evaluate(FOCUSED)["outline"], "the switcher shows no focus outline"
    expect(switcher.locator("option[value=ka]")).to_have_attribute("lang", "ka")
    page.keyboard.press("ArrowDown")  # English → ქართული: the arrows change a closed select
    expect(switcher).to_have_value("ka")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["outline"], "the switcher's button shows no focus outline"
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "ka")
    expect(page.get_by_label("ენა")).to_have_value("ka")


# The focused element: its id, a name for messages, and whether its outline can be seen.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const visible = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const name = `${el.tagName.toLowerCase()}#${el.id} ${el.textContent.trim().slice(0, 30)}`;
  return { id: el.id, name, outline: visible };
}"""
