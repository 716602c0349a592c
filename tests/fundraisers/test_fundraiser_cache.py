"""The fast paths and caches in front of the fundraiser: same answers, nothing stale for long."""

from __future__ import annotations

import time

import pytest

from membership.fundraisers import campaigns, editing, totals
from tests.fundraisers.conftest import SLUG, give_and_pay, progress

URL = f"/api/v1/fundraisers/{SLUG}/progress"


def _headers(response) -> dict[str, str]:
    """A response's headers without the ones a test client adds."""
    return dict(response.headers)


def test_progress_fast_path_answers_like_the_view(app, campaign, client, monkeypatch):
    slow = client.get(URL)
    slow_304 = client.get(URL, headers={"If-None-Match": slow.headers["ETag"]})
    assert (slow.status_code, slow_304.status_code) == (200, 304)
    assert "Vary" not in slow.headers  # public: never varies on the reader's cookies

    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60

    def no_flask(slug):
        raise AssertionError("the fast path should have answered")

    monkeypatch.setattr(totals, "snapshot", no_flask)
    fast = client.get(URL)
    fast_304 = client.get(URL, headers={"If-None-Match": slow.headers["ETag"]})
    assert fast.status_code == 200 and fast.data == slow.data
    assert _headers(fast) == _headers(slow)
    assert fast_304.status_code == 304 and not fast_304.data
    assert _headers(fast_304) == _headers(slow_304)
    other = client.get(URL, headers={"If-None-Match": '"fr-0-0"'})
    assert other.status_code == 200


@pytest.mark.parametrize("fast", [False, True], ids=["view", "fast-path"])
def test_a_weak_etag_from_a_proxy_still_gets_304(app, campaign, client, fast):
    """RFC 9110 13.1.2: If-None-Match compares weakly, and proxies that compress an answer send
    the validator back as W/"…"; a list of tags matches when any one does."""
    first = client.get(URL)
    if fast:
        app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60
    etag = first.headers["ETag"]
    for sent in (f"W/{etag}", f'"something-else", W/{etag}', "*"):
        response = client.get(URL, headers={"If-None-Match": sent})
        assert (response.status_code, response.data) == (304, b""), sent
        assert response.headers["ETag"] == etag
    assert client.get(URL, headers={"If-None-Match": 'W/"fr-0-0"'}).status_code == 200


@pytest.mark.parametrize("method", ["head", "options", "post"])
def test_other_methods_still_go_through_flask(app, campaign, client, method):
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60
    client.get(URL)
    response = getattr(client, method)(URL)
    expected = {"head": 200, "options": 200, "post": 405}[method]
    assert response.status_code == expected
    if method == "post":
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    else:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_gift_shows_once_the_freshness_bound_passed(app, campaign, auth, client, stripe_world):
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 0.3
    before = client.get(URL)
    give_and_pay(auth, stripe_world, amount="40")
    time.sleep(0.35)
    after = client.get(URL, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["raised"] == 4000


def test_drafts_are_never_served_from_the_memo(app, campaign, client):
    from membership.extensions import db
    from membership.fundraisers.models import Campaign, CampaignStatus

    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60
    assert progress(client)["slug"] == SLUG
    with app.app_context():
        db.session.get(Campaign, campaign).status = CampaignStatus.draft
        totals.bump_version(campaign)
        db.session.commit()
    totals.MEMO.clear()
    assert client.get(URL).status_code == 404
    assert client.get(URL).status_code == 404


# --- the campaign page's cached parts --------------------------------------------------------

PAGE = f"/fundraisers/{SLUG}"


def test_page_parts_are_reused_while_the_version_stands(app, campaign, client, monkeypatch):
    from membership.fundraisers import page_cache

    first = client.get(PAGE).get_data(as_text=True)
    monkeypatch.setattr(campaigns, "wall", lambda *a, **k: pytest.fail("parts were rebuilt"))
    assert client.get(PAGE).get_data(as_text=True) == first
    with app.app_context():
        assert len([key for key in page_cache.cache().entries if key[0] != "page"]) == 1


def test_a_gift_shows_on_the_next_page_view(app, campaign, auth, client, stripe_world):
    assert "Ada from Tbilisi" not in client.get(PAGE).get_data(as_text=True)
    give_and_pay(auth, stripe_world, amount="40", public_name="Ada from Tbilisi")
    html = client.get(PAGE).get_data(as_text=True)
    assert "Ada from Tbilisi" in html and 'data-minor="4000"' in html


def test_staff_edits_show_on_the_next_page_view(app, campaign, client):
    from membership.accounts.models import Role
    from membership.extensions import db
    from membership.fundraisers.models import Campaign, Outlet
    from membership.perks.models import Perk
    from tests.factories import make_user

    client.get(PAGE)
    with app.app_context():
        staff = make_user(email="staff@example.org", role=Role.staff)
        row = db.session.get(Campaign, campaign)
        outlet = db.session.scalar(db.select(Outlet).where(Outlet.slug == "river-daily"))
        data = {"slug": outlet.slug, "name": "River Weekly", "url": outlet.url,
                "logo_url": "", "blurb": outlet.blurb, "goal": "", "position": 1}  # fmt: skip
        editing.save_outlet(row, outlet, data, staff)
        perk = db.session.scalar(db.select(Perk).where(Perk.slug == "ad-free"))
        editing.add_reward_tier(row, "100", perk.id, 3, "Ad-free")
        editing.add_milestone(row, "15000", "A photo desk", "")
        db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    assert "River Weekly" in html and "A photo desk" in html
    assert "for 3 months" in html


def test_each_locale_gets_its_own_parts(app, campaign, client):
    english = client.get(PAGE + "?lang=en").get_data(as_text=True)
    georgian = client.get(PAGE + "?lang=ka").get_data(as_text=True)
    assert "progress?lang=en" in english and "progress?lang=ka" not in english
    assert "progress?lang=ka" in georgian and "progress?lang=en" not in georgian
    assert "€10,000.00" in english and "€10,000.00" not in georgian


def test_a_signed_in_readers_csrf_token_is_per_session(app, campaign, client, auth):
    from tests.conftest import csrf_token
    from tests.factories import make_user

    def session_token(c):
        # The signed token carries a timestamp that moves each second: compare what it signs.
        return csrf_token(c, PAGE).split(".")[0]

    with app.app_context():
        make_user(email="one@example.org")
        make_user(email="two@example.org")
    auth.login(email="one@example.org")
    other = app.test_client()
    from tests.conftest import Actions

    Actions(other, auth.mailbox).login(email="two@example.org")
    mine, theirs = session_token(client), session_token(other)
    assert mine != theirs
    assert session_token(client) == mine


def test_page_parts_expire_after_the_documented_bound(app, campaign, client):
    from membership.fundraisers import page_cache

    app.config["FUNDRAISER_PAGE_CACHE_SECONDS"] = 0
    client.get(PAGE)
    with app.app_context():
        (built_at, _parts), *_ = page_cache.cache().entries.values()
    client.get(PAGE)
    with app.app_context():
        (rebuilt_at, _parts), *_ = page_cache.cache().entries.values()
    assert rebuilt_at > built_at


# --- the whole anonymous page, one string per key -------------------------------------------


def _no_render(monkeypatch) -> None:
    """Fail if the campaign template is rendered."""
    from membership.fundraisers import views

    monkeypatch.setattr(views, "_render", lambda *a, **k: pytest.fail("the page was rendered"))


def test_a_cached_page_equals_a_fresh_render(app, campaign, monkeypatch):
    from membership.fundraisers import page_cache

    fresh = app.test_client().get(PAGE)
    assert 'name="csrf_token"' not in fresh.get_data(as_text=True)
    with app.app_context():
        assert any(key[0] == "page" for key in page_cache.cache().entries)
    _no_render(monkeypatch)
    reader = app.test_client()
    cached = reader.get(PAGE)
    assert cached.status_code == 200 and cached.data == fresh.data
    assert "Set-Cookie" not in cached.headers and reader.get_cookie("session") is None
    monkeypatch.undo()
    with app.app_context():
        page_cache.cache().clear()
    assert reader.get(PAGE).data == cached.data


def test_a_failed_anonymous_post_keeps_the_full_render(app, campaign, monkeypatch):
    app.test_client().get(PAGE)  # fills the cache
    failed = app.test_client().post(f"/fundraisers/{SLUG}/donate", data={"amount": "x"})
    assert failed.status_code == 422  # a failed POST keeps the full render, with its errors
    assert "Enter an amount" in failed.get_data(as_text=True)


def test_flashes_and_signed_in_navigation_are_still_rendered(app, campaign, client, auth):
    from tests.factories import make_user

    app.test_client().get(PAGE)  # fills the cache
    with client.session_transaction() as session:
        session["_flashes"] = [("error", "A flash for this reader")]
    html = client.get(PAGE).get_data(as_text=True)
    assert "A flash for this reader" in html
    assert "A flash for this reader" not in client.get(PAGE).get_data(as_text=True)
    with app.app_context():
        make_user()
    auth.login()
    html = client.get(PAGE).get_data(as_text=True)
    assert "Sign out" in html and "Your account" in html and "Sign in" not in html
    assert "sign in before you give" not in html


def test_the_preselected_outlet_has_its_own_page(app, campaign, client, monkeypatch):
    plain = client.get(PAGE).get_data(as_text=True)
    river = client.get(PAGE + "?outlet=river-daily").get_data(as_text=True)
    assert '<option value="river-daily" selected>' in river
    assert "selected>" not in plain.split('id="outlet"')[1].split("</select>")[0]
    unknown = client.get(PAGE + "?outlet=nowhere").get_data(as_text=True)
    assert unknown == plain
    ref = client.get(PAGE + "?ref=https://news.example.org/a").get_data(as_text=True)
    assert 'value="https://news.example.org/a"' in ref
    _no_render(monkeypatch)
    assert client.get(PAGE + "?outlet=river-daily").get_data(as_text=True) == river


def test_the_whole_page_follows_the_version_and_the_bound(app, campaign, client, monkeypatch):
    from membership.extensions import db
    from membership.fundraisers.models import Campaign

    client.get(PAGE)
    with app.app_context():
        db.session.get(Campaign, campaign).title = "Reporters United"
        totals.bump_version(campaign)
        db.session.commit()
    assert "Reporters United" in client.get(PAGE).get_data(as_text=True)
    app.config["FUNDRAISER_PAGE_CACHE_SECONDS"] = 0
    calls = []
    from membership.fundraisers import views

    render = views._render
    monkeypatch.setattr(views, "_render", lambda *a: calls.append(1) or render(*a))
    client.get(PAGE)
    client.get(PAGE)
    assert len(calls) == 2


def test_anonymous_readers_get_404_for_drafts_and_unknown_slugs(app, campaign, client):
    from membership.extensions import db
    from membership.fundraisers.models import Campaign, CampaignStatus

    assert "Reporters Together" in client.get(PAGE).get_data(as_text=True)
    unknown = client.get("/fundraisers/no-such-campaign")
    assert unknown.status_code == 404
    assert "Page not found" in unknown.get_data(as_text=True)
    with app.app_context():
        db.session.get(Campaign, campaign).status = CampaignStatus.draft
        totals.bump_version(campaign)
        db.session.commit()
    draft = client.get(PAGE)  # not the cached live page
    assert draft.status_code == 404
    assert "Reporters Together" not in draft.get_data(as_text=True)


def test_the_embedded_widget_sets_no_cookie_on_a_newsrooms_page(client, campaign):
    """The widget is framed by the newsroom's site (an outside Referer): it is no landing, and
    gives no visitor a session of their own."""
    response = client.get(
        f"/fundraisers/{SLUG}/embed", headers={"Referer": "https://news.example.ge/"}
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # (it varies on the language cookie only)
