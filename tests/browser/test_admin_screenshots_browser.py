"""Every staff page at 1280 px with the demo data: a screenshot of each for people to look at
(ADMIN_SCREENSHOTS, else artifacts/screenshots/admin/), axe finds nothing serious, and nothing
looks unfinished: no overflow past a card or the window, no chart labels on top of each other,
no chart narrower than its card, no KPI tile touching the next card, no month or amount wrapped
in a table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.billing.models import Plan
from membership.demo import DEMO_STAFF_EMAIL
from membership.demo import seed as demo_seed
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.demo import SLUG
from membership.fundraisers.models import Campaign, Outlet
from membership.perks.models import Perk
from tests.billing.conftest import join
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_accessibility_browser import AUDIT, axe_source, sign_in  # noqa: F401
from tests.browser.test_screenshots_browser import OVERFLOW
from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.browser
WIDTH = 1280
FOLDER = Path(os.environ.get("ADMIN_SCREENSHOTS") or SCREENSHOTS / "admin")
READER = "tamar@example.org"

# What looks unfinished beyond overflow: chart labels drawn over each other, a chart that does
# not fill its card, KPI tiles touching what follows, months or amounts broken over two lines.
UNFINISHED = """() => {
  const found = [];
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                            a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll("svg.chart").forEach((svg, n) => {
    const labels = [...svg.querySelectorAll("text")]
      .map((t) => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        if (overlap(labels[i][1], labels[j][1])) {
          found.push(`chart ${n}: "${labels[i][0]}" overlaps "${labels[j][0]}"`);
        }
      }
    }
    for (const swatch of svg.querySelectorAll('rect[width="10"][height="10"]')) {
      const square = swatch.getBoundingClientRect();
      for (const [text, rect] of labels) {
        if (overlap(square, rect)) found.push(`chart ${n}: a legend colour overlaps "${text}"`);
      }
    }
    const box = svg.getBoundingClientRect(), holder = svg.closest(".card");
    if (!holder) { found.push(`chart ${n} outside a card`); return; }
    const inner = holder.getBoundingClientRect(), style = getComputedStyle(holder);
    const room = inner.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (box.width < room - 2) {
      found.push(`chart ${n} ${Math.round(box.width)} px in ${Math.round(room)} px`);
    }
    if (box.right > inner.right + 1) found.push(`chart ${n} past its card`);
  });
  const stats = document.querySelector(".stats");
  if (stats) {
    const next = stats.nextElementSibling, bottom = stats.getBoundingClientRect().bottom;
    if (next && next.getBoundingClientRect().top - bottom < 8) {
      found.push("KPI tiles touch the next card");
    }
    const tiles = [...stats.querySelectorAll(".stat")].map((t) => t.getBoundingClientRect());
    for (let i = 0; i < tiles.length; i++) for (let j = i + 1; j < tiles.length; j++) {
      if (overlap(tiles[i], tiles[j])) found.push("KPI tiles overlap");
    }
  }
  for (const cell of document.querySelectorAll("td.num, td.month, td.when")) {
    const line = parseFloat(getComputedStyle(cell).lineHeight) || 20;
    const range = document.createRange();
    range.selectNodeContents(cell);
    // A smaller hint on the same line starts a little lower: a new line starts half a line on.
    const tops = [...range.getClientRects()].map((r) => r.top).sort((a, b) => a - b);
    const lines = tops.filter((top, i) => i === 0 || top - tops[i - 1] > line / 2).length;
    if (lines > 1 && cell.textContent.trim().length < 40) {
      found.push(`"${cell.textContent.trim()}" wraps over ${lines} lines`);
    }
  }
  return found;
}"""


@pytest.fixture
def demo(app, auth, stripe_world):
    """The demo data `make run` loads (150 members with two years of history), a reader who
    joined through Stripe, and the demo staff account with a password this test knows."""
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 0
    totals.MEMO.clear()
    with app.app_context():
        demo_seed(echo=lambda *a: None)
        db.session.execute(
            update(User)
            .where(User.email == DEMO_STAFF_EMAIL)
            .values(password_hash=hash_password(PASSWORD))
        )
        db.session.commit()
        reader = make_user(email=READER, name="Tamar").id
    # She came from the newsletter's link to an article: her file says so.
    auth.client.get(
        "/plans?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-digest"
        "&ref=housing-series",
        headers={"Referer": "https://mail.example.net/"},
    )
    auth.login(email=READER)
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    with app.app_context():
        member = db.session.scalar(
            select(User.id).where(User.role == Role.member, User.id != reader).limit(1)
        )
        yield {
            "reader": reader,
            "member": member,
            "campaign": db.session.scalar(select(Campaign.id).where(Campaign.slug == SLUG)),
            "plan": db.session.scalar(select(Plan.id).where(Plan.slug == "supporter")),
            "perk": db.session.scalar(select(Perk.id).limit(1)),
            "import": _staged_import(),
            "outlet": db.session.scalar(
                select(Outlet.id).join(Campaign).where(Campaign.slug == SLUG).limit(1)
            ),
        }


def _staged_import() -> str:
    """A Ghost file uploaded and waiting for staff to confirm it: its preview's token."""
    from membership.members import files, services

    sample = Path(__file__).parent.parent / "data" / "imports" / "ghost.csv"
    with sample.open("rb") as source:
        return files.stage(source, "ghost.csv", "ghost", services.check_file).token


def staff_pages(demo) -> dict[str, str]:
    """Every staff page a GET shows, by a file name for its screenshot."""
    from membership.admin.report_views import REPORTS  # filled in as the app is created

    pages = {
        "dashboard": "/admin/",
        "members": "/admin/members",
        "members-search": "/admin/members?q=reader1",
        "member-reader": f"/admin/members/{demo['reader']}",
        "member-demo": f"/admin/members/{demo['member']}",
        "reports": "/admin/reports",
    }
    pages |= {f"report-{slug}": f"/admin/reports/{slug}" for slug in REPORTS}
    pages |= {
        "report-movement-36-months": "/admin/reports/movement?start=2023-01-01&end=2025-12-31",
        "webhooks": "/admin/webhooks",
        "catalogue": "/admin/catalogue",
        "plan-new": "/admin/catalogue/plans/new",
        "plan-edit": f"/admin/catalogue/plans/{demo['plan']}",
        "perk-new": "/admin/catalogue/perks/new",
        "perk-edit": f"/admin/catalogue/perks/{demo['perk']}",
        "fundraisers": "/admin/fundraisers/",
        "fundraiser": f"/admin/fundraisers/{demo['campaign']}",
        "access-rules": "/admin/access/rules",
        "access-keys": "/admin/access/keys",
        "host": "/admin/host/",
        "host-campaign": f"/admin/host/campaigns/{demo['campaign']}",
        "host-outlet": f"/admin/host/outlets/{demo['outlet']}",
        "host-outlet-wall": f"/admin/host/outlets/{demo['outlet']}/wall",
        "host-outlet-statement": f"/admin/host/outlets/{demo['outlet']}/statement",
        "member-import": "/admin/members/import",
        "member-import-preview": f"/admin/members/import/{demo['import']}",
        "search": "/admin/search?q=%E1%83%91%E1%83%94%E1%83%A0%E1%83%98%E1%83%AB%E1%83%94",
        # What staff see when something is wrong or empty.
        "report-bad-period": "/admin/reports/revenue?start=2026-05-01&end=2026-01-01",
        "members-nobody": "/admin/members?q=nobody-by-this-name",
    }
    return pages


# Staff pages that take an id, and the entries above that show them: a new one must be added.
WITH_IDS = {
    "admin.member": "member-demo",
    "admin.report": "report-members",
    "admin.edit_plan": "plan-edit",
    "admin.edit_perk": "perk-edit",
    "admin_fundraisers.campaign": "fundraiser",
    "admin.member_import_preview": "member-import-preview",
    "admin_host.campaign": "host-campaign",
    "admin_host.outlet": "host-outlet",
    "admin_host.wall": "host-outlet-wall",
    "admin_host.statement": "host-outlet-statement",
}


def unlisted(app, pages: dict[str, str]) -> list[str]:
    """Staff pages a GET shows that the list above does not open: every page without an id is
    found on its own; a page with an id (a member, a plan …) needs its entry in WITH_IDS."""
    paths = {path.split("?")[0] for path in pages.values()}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.rule.endswith(".csv"):
            continue
        if rule.arguments:
            if rule.endpoint not in WITH_IDS:
                missing.append(f"{rule.rule}: add it to staff_pages() and WITH_IDS")
        elif rule.rule not in paths:
            missing.append(f"{rule.rule}: add it to staff_pages()")
    return missing


# Pages seen in Georgian too: its words are longer than English ones (labels, headers, tiles).
IN_GEORGIAN = ("dashboard", "member-reader", "report-movement-36-months", "report-revenue",
               "report-sources", "report-recovery", "report-members")  # fmt: skip


def test_every_staff_page_at_1280_px_looks_finished(app, live_server, browser, axe_source,  # noqa: F811
                                                     demo):  # fmt: skip
    FOLDER.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="en-US")
    context.add_init_script(script=axe_source)
    page = context.new_page()
    problems = []
    pages = staff_pages(demo)
    assert not unlisted(app, pages), unlisted(app, pages)
    visits = list(pages.items())
    visits += [(f"ka-{name}", pages[name] + ("&" if "?" in pages[name] else "?") + "lang=ka")
               for name in IN_GEORGIAN]  # fmt: skip
    try:
        sign_in(page, live_server, DEMO_STAFF_EMAIL)
        for name, path in visits:
            response = page.goto(f"{live_server}{path}")
            status = 400 if "bad-period" in name else 200
            assert response is not None and response.status == status, (path, response.status)
            found = page.evaluate(OVERFLOW) + page.evaluate(UNFINISHED)
            axe = page.evaluate(AUDIT)
            found += axe["violations"]
            if axe["h1"] != 1 or axe["main"] != 1:
                found.append(f"{axe['h1']} h1, {axe['main']} main")
            problems += [f"{path}: {problem}" for problem in found]
            page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
