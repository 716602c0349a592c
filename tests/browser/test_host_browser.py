"""The transparency page (English, Georgian; desktop and phone) and a newsroom's statement, in
headless Chromium: finished, readable, amounts right-aligned on one line; screenshots kept in
/work/notes/artifacts/host/ (or artifacts/screenshots/ when that folder is absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from membership.fundraisers.demo import SLUG
from tests.browser.conftest import SCREENSHOTS

NOTES = Path("/work/notes/artifacts/host")
SHOTS = NOTES if NOTES.parent.exists() else SCREENSHOTS

# Every amount cell: right-aligned (end, in a left-to-right page), on one line, inside its cell.
CHECK_AMOUNTS = """() => [...document.querySelectorAll('table.money td.num')].map(td => {
  const style = getComputedStyle(td);
  const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
  return {align: style.textAlign, wrap: style.whiteSpace,
          oneLine: td.getBoundingClientRect().height < line * 1.9 + 16,
          fits: td.scrollWidth <= td.clientWidth + 1};
})"""


@pytest.fixture
def demo(app, runner, stripe_world):
    """The demo data (host, fees, grants, newsroom staff); the newsroom's password."""
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return re.search(r"newsroom@example.org / (\S+)", result.output).group(1)


def _amounts_look_right(page) -> None:
    cells = page.evaluate(CHECK_AMOUNTS)
    assert cells, "no amounts on the page"
    for cell in cells:
        assert cell["align"] in ("right", "end"), cell
        assert cell["wrap"] == "nowrap" and cell["oneLine"] and cell["fits"], cell
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("lang,width", [("en", 1200), ("ka", 1200), ("ka", 375), ("ru", 375)])
def test_transparency_page(browser, live_server, demo, lang, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/fundraisers/{SLUG}/transparency?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#transparency-outlets tbody tr").count() == 3
    if width > 600:
        _amounts_look_right(page)
    else:  # a block per newsroom: every amount visible, none behind a sideways scroll
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        hidden = page.evaluate("""() => [...document.querySelectorAll('#transparency-outlets td')]
            .filter(td => td.getBoundingClientRect().right > innerWidth + 1).length""")
        assert hidden == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"transparency-{lang}-{width}.png"), full_page=True)
    context.close()


def test_newsroom_statement(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "newsroom@example.org")
    page.fill("input[name=password]", demo)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account.*"))
    page.goto(f"{live_server}/account")
    page.click("text=River Daily")
    page.wait_for_url(re.compile(r".*/statement.*"))
    assert "Statement for River Daily" in page.content()
    _amounts_look_right(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "statement-river-daily-en.png"), full_page=True)
    pdf = page.request.get(
        page.url + "&format=pdf" if "?" in page.url else page.url + "?format=pdf"
    )
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    (SHOTS / "statement-river-daily-en.pdf").write_bytes(pdf.body())
    page.goto(page.url + "&lang=hy" if "?" in page.url else page.url + "?lang=hy")
    page.screenshot(path=str(SHOTS / "statement-river-daily-hy.png"), full_page=True)
    context.close()
