"""Staff import and search in Chromium: upload a Ghost file, read the preview, confirm, then find
the imported readers by a Georgian and an Armenian name; axe-core on every page shown."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from membership.accounts.models import Role, User
from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from tests.browser.test_accessibility_browser import audit, axe_source, sign_in  # noqa: F401
from tests.factories import make_user
from tests.members.conftest import sample

pytestmark = pytest.mark.browser

# Where the screenshots go for people to look at (the lead's notes), else artifacts/screenshots.
ARTIFACTS = Path(
    os.environ.get("IMPORT_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "imports"
)


def snap(page, name: str, width: int = 1200) -> None:
    """A full-page screenshot at a width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1200, "height": 900})


def checked(page, problems: list[str]) -> None:
    """Run axe-core on the page now shown (it was injected by the page's init script)."""
    audit(page, page.url, problems)


def test_import_preview_confirm_and_search(app, live_server, page, axe_source, tmp_path):  # noqa: F811
    app.config["MEMBER_IMPORT_DIR"] = str(tmp_path / "imports")
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
        make_user(email="staff@example.org", name="Staff", role=Role.staff)
    page.add_init_script(axe_source)
    problems: list[str] = []
    sign_in(page, live_server, "staff@example.org")

    page.goto(f"{live_server}/admin/members/import")
    checked(page, problems)
    snap(page, "import-upload")
    page.get_by_label("Exported by").select_option("ghost")
    page.get_by_label("Member file (CSV)").set_input_files(str(sample("ghost")))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(re.compile(r".*/admin/members/import/[A-Za-z0-9_-]+$"))
    expect(page.locator("#count-create")).to_have_text("4")
    expect(page.locator("#count-error")).to_have_text("5")
    expect(page.locator("#problems")).to_contain_text("Unknown tier: Platinum")
    checked(page, problems)
    snap(page, "import-preview")
    snap(page, "import-preview-375", width=375)

    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r".*/admin/members$"))
    expect(page.locator(".flash")).to_contain_text("4 new readers")

    box = page.get_by_role("searchbox", name="E-mail, name, Stripe id or gift code")
    box.fill("ბერიძე")
    box.press("Enter")
    expect(page.locator("#found-members")).to_contain_text("nino.beridze@example.ge")
    checked(page, problems)
    snap(page, "search-georgian")
    box = page.get_by_role("searchbox", name="E-mail, name, Stripe id or gift code")
    box.fill("ԱՆԱՀԻՏ")
    box.press("Enter")
    expect(page.locator("#found-members")).to_contain_text("anahit.petrosyan@example.am")
    page.locator("#found-members a", has_text="anahit.petrosyan@example.am").click()
    expect(page.locator("h1")).to_contain_text("Անահիտ Պետրոսյան")
    expect(page.locator("#audit")).to_contain_text("account.imported")
    snap(page, "imported-member")

    page.goto(f"{live_server}/admin/members/import")
    page.get_by_label("Exported by").select_option("patreon")
    page.get_by_label("Member file (CSV)").set_input_files(str(sample("ghost")))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.locator("#file-errors")).to_contain_text("not Patreon's member export")
    checked(page, problems)
    snap(page, "import-wrong-format")

    for language in ("ka", "hy"):  # the staff member's own language: the pages in it
        with app.app_context():
            db.session.execute(
                update(User).where(User.email == "staff@example.org").values(locale=language)
            )
            db.session.commit()
        page.goto(f"{live_server}/admin/search?q=%D5%8A%D5%A5%D5%BF%D6%80")  # Պետր
        expect(page.locator("#found-members")).to_contain_text("anahit.petrosyan@example.am")
        checked(page, problems)
        snap(page, f"search-{language}")
        page.goto(f"{live_server}/admin/members/import")
        checked(page, problems)
        snap(page, f"import-upload-{language}")
    assert problems == []
