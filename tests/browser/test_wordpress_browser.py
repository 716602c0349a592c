"""The WordPress plugin in Chromium: a reader opens a members-only post anonymously, as a member
and after the membership lapsed; an editor sets the plugin up and places the fundraiser widget.
Every page may ask this WordPress and the app, and nobody else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from membership.perks.models import PerkGrant
from membership.timeutil import utcnow
from tests.access.conftest import AccessWorld
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.fundraisers.conftest import make_campaign
from tests.wordpress.site import ADMIN

pytestmark = [pytest.mark.browser, pytest.mark.wordpress]

SECRET = "MEMBERS-ONLY: the contractor behind three shell companies is named here."


@pytest.fixture
def world(app) -> AccessWorld:
    return AccessWorld(app)


@pytest.fixture
def outside(page):
    """Requests the page made to any host but 127.0.0.1 (refused, and listed here)."""
    strangers: list[str] = []

    def only_local(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            strangers.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    return strangers


def _sign_in_to_the_app(page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")


def _sign_in_to_wordpress(page, site) -> None:
    page.goto(f"{site.url}/wp-login.php")
    page.get_by_label("Username or Email Address").fill(ADMIN[0])
    page.get_by_label("Password", exact=True).fill(ADMIN[1])
    page.get_by_role("button", name="Log In").click()
    # wp-admin is the heaviest page PHP serves here (no opcache under `php -S`): a loaded CI
    # machine may take longer than Playwright's default 30 s to get there.
    page.wait_for_url(f"{site.url}/wp-admin/**", timeout=90_000)


def test_a_reader_anonymous_then_a_member_then_lapsed(site, app, world, live_server, page, outside):
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
    user = world.user("nino@example.org")
    grant = world.grant(user, "members-only-articles")
    river = site.posts["river"]["url"]
    article = page.locator("main")

    page.goto(river)  # anonymous: the free part and the box
    title = "The river report: where the money went"
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(article.get_by_text("We followed every payment from the ministry")).to_be_visible()
    expect(article.get_by_text(SECRET)).to_have_count(0)
    box = page.locator(".membership-access-box")
    expect(box.get_by_text("This article is for members.")).to_be_visible()
    expect(box.get_by_text("Already a member?")).to_be_visible()
    shot(page, "wordpress-anonymous")
    assert SECRET not in page.content()  # cut on the server, not hidden in the page

    box.get_by_role("link", name="Become a member").click()  # to the app's plans, with the article
    page.wait_for_url(f"{live_server}/plans?ref=%2Finvestigations%2Fthe-river-report%2F")
    ref = page.locator("input[name=ref]").first
    assert ref.input_value() == "/investigations/the-river-report/"

    _sign_in_to_the_app(page, live_server, "nino@example.org")  # sets the access_token cookie
    page.goto(river)
    expect(article.get_by_text(SECRET)).to_be_visible()
    expect(page.locator(".membership-access-box")).to_have_count(0)
    shot(page, "wordpress-member")

    with app.app_context():  # the membership's last period ends
        db.session.get(PerkGrant, grant).ends_at = utcnow()
        db.session.commit()
    page.goto(f"{live_server}/account")  # the app renews the cookie: no perks in it now
    page.goto(river)
    expect(article.get_by_text(SECRET)).to_have_count(0)
    expect(box.get_by_text("Your membership does not include this article.")).to_be_visible()
    expect(box.get_by_role("link", name="Become a member")).to_be_visible()
    shot(page, "wordpress-lapsed")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "wordpress-lapsed-375")
    assert outside == []


def test_an_editor_connects_the_plugin_in_its_settings_page(site, live_server, page, outside):
    key = site.api_key
    site.configure(backend_url="", api_key="")
    _sign_in_to_wordpress(page, site)
    page.goto(f"{site.url}/wp-admin/options-general.php?page=membership-access")
    expect(page.get_by_text("Set the backend address to connect.")).to_be_visible()

    page.get_by_label("Backend address").fill("ftp://members.example.org")
    page.get_by_role("button", name="Save Changes").click()
    refused = "The backend address must be an http:// or https:// address"
    expect(page.get_by_text(refused)).to_be_visible()

    page.get_by_label("Backend address").fill(live_server + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Save Changes").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Backend address")).to_have_value(live_server)
    expect(page.get_by_text("The API key is accepted.")).to_be_visible()
    expect(page.get_by_text("Signing keys: derived-")).to_be_visible()
    expect(page.get_by_text(f"A key is saved ({key[:10]}…)")).to_be_visible()
    shot(page, "wordpress-settings")

    page.goto(site.posts["river"]["url"])  # logged in to WordPress as the post's editor: all of it
    expect(page.get_by_text(SECRET)).to_be_visible()
    assert outside == []


def test_the_fundraiser_widget_as_shortcode_and_block(site, app, live_server, page, outside):
    with app.app_context():
        make_campaign(slug="reporters-together")
        db.session.commit()
    page.goto(site.posts["support"]["url"])
    frames = page.locator("iframe.membership-fundraiser")
    expect(frames).to_have_count(2)
    for index in range(2):
        assert frames.nth(index).get_attribute("src") == (
            f"{live_server}/fundraisers/reporters-together/embed"
        )
        widget = page.frame_locator("iframe.membership-fundraiser").nth(index)
        expect(widget.get_by_role("link", name="Give now")).to_be_visible()
    # The shortcode's height (220) is where its frame starts; the backend's embed-host.js, which
    # the plugin adds beside each frame, then sizes every frame to its widget's content.
    assert f'src="{live_server}/static/js/embed-host.js"' in page.content()
    for index in range(2):
        inner = frames.nth(index).element_handle().content_frame()
        page.wait_for_function(
            "([i, want]) => Math.abs(document.querySelectorAll('iframe.membership-fundraiser')[i]"
            ".getBoundingClientRect().height - want) <= 1",
            arg=[index, inner.evaluate("document.documentElement.getBoundingClientRect().height")],
        )
    shot(page, "wordpress-fundraiser")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: the widget wraps, grows
    widget = page.frame_locator("iframe.membership-fundraiser").nth(1)
    button = widget.get_by_role("link", name="Give now")
    button.scroll_into_view_if_needed()
    block, inside = frames.nth(1).bounding_box(), button.bounding_box()
    assert inside["y"] + inside["height"] <= block["y"] + block["height"]  # not cut off
    shot(page, "wordpress-fundraiser-375")

    _sign_in_to_wordpress(page, site)  # the block in the editor: plain JavaScript, no build
    page.goto(f"{site.url}/wp-admin/post-new.php")
    page.wait_for_function("() => window.wp?.blocks?.getBlockType('membership/fundraiser')")
    page.evaluate(
        """() => wp.data.dispatch('core/block-editor').insertBlocks(
            wp.blocks.createBlock('membership/fundraiser', {slug: 'reporters-together'}))"""
    )
    preview = page.locator(".wp-block-membership-fundraiser iframe.membership-fundraiser")
    expect(preview).to_have_attribute("src", f"{live_server}/fundraisers/reporters-together/embed")
    assert outside == []
