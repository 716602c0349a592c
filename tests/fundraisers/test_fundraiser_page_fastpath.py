"""The anonymous campaign page's micro-cache in front of Flask: Flask's answer, byte for byte,
for visitors without cookies; everything else reaches Flask."""

from __future__ import annotations

import time

import pytest

from membership.extensions import db
from membership.fundraisers import campaigns
from membership.fundraisers.models import CampaignStatus
from tests.fundraisers.conftest import SLUG, give_and_pay

PAGE = f"/fundraisers/{SLUG}"


@pytest.fixture
def fast_path(app, campaign):
    """The micro-cache, on for a minute."""
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 60
    return app.extensions["fundraiser_page_fastpath"]


@pytest.fixture
def flask_calls(fast_path, monkeypatch) -> list[str]:
    """The paths (with query) of the requests that reached Flask."""
    calls: list[str] = []
    inner = fast_path.wsgi_app

    def recording(environ, start_response):
        calls.append(f"{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')}")
        return inner(environ, start_response)

    monkeypatch.setattr(fast_path, "wsgi_app", recording)
    return calls


def _no_flask(fast_path, monkeypatch) -> None:
    """Fail if a request reaches Flask."""

    def no_flask(environ, start_response):
        raise AssertionError("the micro-cache should have answered")

    monkeypatch.setattr(fast_path, "wsgi_app", no_flask)


def test_the_micro_cache_answers_like_flask(app, fast_path, monkeypatch):
    slow = app.test_client().get(PAGE)
    assert slow.status_code == 200 and "Set-Cookie" not in slow.headers
    _no_flask(fast_path, monkeypatch)
    visitor = app.test_client()
    fast = visitor.get(PAGE)
    assert fast.status_code == slow.status_code
    assert fast.data == slow.data
    assert dict(fast.headers) == dict(slow.headers)
    assert "Set-Cookie" not in fast.headers and visitor.get_cookie("session") is None


def test_an_anonymous_page_view_sets_no_cookie(app, fast_path, flask_calls):
    visitor = app.test_client()
    for _ in range(2):
        response = visitor.get(PAGE)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert flask_calls == [f"{PAGE}?"]  # the second view came from the micro-cache
    assert visitor.get_cookie("session") is None


def test_a_gift_shows_once_the_freshness_bound_passed(app, campaign, auth, stripe_world):
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 0.3
    visitor = app.test_client()
    assert "Ada from Tbilisi" not in visitor.get(PAGE).get_data(as_text=True)
    give_and_pay(auth, stripe_world, amount="40", public_name="Ada from Tbilisi")
    time.sleep(0.35)
    html = visitor.get(PAGE).get_data(as_text=True)
    assert "Ada from Tbilisi" in html and 'data-minor="4000"' in html


def test_each_language_gets_its_own_entry(app, fast_path, monkeypatch):
    english = app.test_client().get(PAGE)
    russian = app.test_client().get(PAGE, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="en" dir="ltr">' in english.get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in russian.get_data(as_text=True)
    assert len(fast_path.entries) == 2
    _no_flask(fast_path, monkeypatch)
    again = app.test_client().get(PAGE, headers={"Accept-Language": "ru"})
    assert again.data == russian.data and dict(again.headers) == dict(russian.headers)
    # A language the site does not offer gets the English page, as from Flask.
    french = app.test_client().get(PAGE, headers={"Accept-Language": "fr-FR"})
    assert french.data == english.data


def test_drafts_are_never_cached_for_anonymous_visitors(app, fast_path, flask_calls, auth):
    from membership.accounts.models import Role
    from tests.factories import make_user

    with app.app_context():
        campaigns.campaign_by_slug(SLUG).status = CampaignStatus.draft
        make_user(email="staff@example.org", role=Role.staff)
        db.session.commit()
    assert app.test_client().get(PAGE).status_code == 404
    assert app.test_client().get(PAGE).status_code == 404
    auth.login(email="staff@example.org")
    assert "Draft: only staff see this page." in auth.client.get(PAGE).get_data(as_text=True)
    assert app.test_client().get(PAGE).status_code == 404
    assert app.test_client().get("/fundraisers/no-such-campaign").status_code == 404
    assert app.test_client().get("/fundraisers/no-such-campaign").status_code == 404
    assert fast_path.entries == {}
    assert flask_calls.count(f"{PAGE}?") == 4


@pytest.mark.parametrize(
    "cookie", ["session", "remember_token", "access_token"], ids=lambda name: name
)
def test_requests_with_cookies_that_matter_go_to_flask(app, fast_path, flask_calls, cookie):
    app.test_client().get(PAGE)  # fills the entry
    visitor = app.test_client()
    visitor.set_cookie(cookie, "anything")
    assert visitor.get(PAGE).status_code == 200
    assert flask_calls == [f"{PAGE}?", f"{PAGE}?"]


def test_other_cookies_do_not_matter(app, fast_path, flask_calls):
    app.test_client().get(PAGE)
    visitor = app.test_client()
    visitor.set_cookie("consent", "yes")
    assert visitor.get(PAGE).status_code == 200
    assert flask_calls == [f"{PAGE}?"]


def test_a_query_string_and_other_methods_go_to_flask(app, fast_path, flask_calls):
    client = app.test_client()
    client.get(PAGE)
    assert client.get(PAGE + "?outlet=river-daily").status_code == 200
    assert client.get(PAGE + "?").status_code == 200  # an empty query string is none at all
    assert client.head(PAGE).status_code == 200
    assert client.post(PAGE).status_code == 405
    assert client.get(PAGE + "/embed").status_code == 200
    assert flask_calls == [
        f"{PAGE}?",
        f"{PAGE}?outlet=river-daily",
        f"{PAGE}?",  # HEAD
        f"{PAGE}?",  # POST
        f"{PAGE}/embed?",
    ]


def test_a_signed_in_reader_gets_their_own_page(app, fast_path, auth):
    from tests.factories import make_user

    app.test_client().get(PAGE)  # an anonymous entry
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    html = auth.client.get(PAGE).get_data(as_text=True)
    assert "Sign out" in html and 'name="csrf_token"' in html
    assert "sign in before you give" not in html


def test_freshness_zero_turns_the_micro_cache_off(app, fast_path, flask_calls):
    app.config["FUNDRAISER_PAGE_FRESHNESS"] = 0
    first, second = app.test_client().get(PAGE), app.test_client().get(PAGE)
    assert first.data == second.data
    assert flask_calls == [f"{PAGE}?", f"{PAGE}?"] and fast_path.entries == {}


def test_a_reader_who_chose_a_language_gets_the_page_in_it_not_the_cached_one(app, fast_path):
    app.test_client().get(PAGE)  # the English page is in the micro-cache now
    reader = app.test_client()
    reader.get(PAGE + "?lang=ka")  # the switcher: remembered in a cookie
    page = reader.get(PAGE).get_data(as_text=True)
    assert '<html lang="ka" dir="ltr">' in page
