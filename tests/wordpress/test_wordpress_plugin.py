"""The WordPress plugin in a real WordPress, as a server-side client sees it: what each reader is
sent, which tokens open a post, what is cached and for how long, key rotation, a failing backend.
(What a reader sees in Chromium is in test_wordpress_browser.py.)"""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from membership.access import tokens
from tests.forged_tokens import forged, signed
from tests.wordpress.fixtures import fetch

pytestmark = pytest.mark.wordpress

SECRET = "MEMBERS-ONLY"
BOX = "This article is for members."
OLD = "2026-old:" + base64.urlsafe_b64encode(b"o" * 32).rstrip(b"=").decode()
NEW = "2027-new:" + base64.urlsafe_b64encode(b"n" * 32).rstrip(b"=").decode()


def _token(app, user: int, perks: list[str], **claims) -> str:
    """An access token as the app issues it, or signed by its key with `claims` overriding."""
    if claims:
        return signed(app, user, perks, **claims)
    with app.app_context():
        return tokens.issue(user, perks)[0]


def _member(world, perk: str = "members-only-articles") -> int:
    user = world.user()
    world.grant(user, perk)
    return user


def test_anonymous_readers_get_the_free_part_and_the_box_and_nothing_else(site, live_server):
    status, body, headers = fetch(site.posts["river"]["url"])
    assert status == 200
    assert "Two years of records on the river clean-up fund." in body
    assert "We followed every payment" in body  # two paragraphs, as the settings say
    assert SECRET not in body
    assert BOX in body
    assert f'href="{live_server}/plans?ref=%2Finvestigations%2Fthe-river-report%2F"' in body
    assert f'href="{live_server}/login"' in body
    assert "Cookie" in headers["Vary"]

    _status, body, _headers = fetch(site.posts["insider"]["url"])  # cut at its <!--more-->
    assert "What our editors are watching this week." in body
    assert "INSIDER-ONLY" not in body and BOX in body

    _status, body, _headers = fetch(site.posts["weather"]["url"])  # no rule: open
    assert "OPEN-TO-ALL" in body and BOX not in body


def test_the_rest_api_and_the_feed_send_the_cut_too(site):
    river = site.posts["river"]["id"]
    _status, body, _headers = fetch(f"{site.url}/wp-json/wp/v2/posts/{river}")
    post = json.loads(body)
    assert "Two years of records" in post["content"]["rendered"]
    assert SECRET not in post["content"]["rendered"] and SECRET not in post["excerpt"]["rendered"]
    assert BOX not in post["excerpt"]["rendered"]  # an excerpt is the free part, no box in it
    _status, feed, _headers = fetch(f"{site.url}/feed/")
    assert "Two years of records" in feed and SECRET not in feed


def test_a_members_token_opens_the_post_offline_and_caches_stay_put(
    site, app, world, backend_calls
):
    user = _member(world)
    token = _token(app, user, ["members-only-articles"])
    url = site.posts["river"]["url"]

    _status, body, headers = fetch(url, token)
    assert SECRET in body and BOX not in body
    assert headers["Cache-Control"] == "private, no-cache"  # never stored by a shared cache
    assert backend_calls.count("/api/v1/keys") == 1
    assert backend_calls.count("/api/v1/access") == 1  # which perk the post needs, by the rules
    # Storing the set again on a hit would push its expiry a day ahead: put it 100 s ahead.
    expires = site.php("expire-in", "membership_access_jwks", "100")
    cached = site.php("transient", "membership_access_jwks")

    backend_calls.clear()
    for _ in range(3):
        assert SECRET in fetch(url, token)[1]
        assert SECRET in fetch(url, token, bearer=True)[1]  # Authorization: Bearer, the same
    assert backend_calls.paths == []  # decided offline, from the cached keys and rules
    assert site.php("transient", "membership_access_jwks") == cached  # not stored on a hit
    assert cached["timeout"] == str(expires)

    _status, body, _headers = fetch(site.posts["insider"]["url"], token)  # needs another perk
    assert "INSIDER-ONLY" not in body
    assert "Your membership does not include this article." in body
    assert "Already a member?" not in body  # signed in already


def test_tokens_that_are_not_the_backends_own_open_nothing(site, app, world):
    user = _member(world)
    fetch(site.posts["river"]["url"], _token(app, user, ["members-only-articles"]))  # caches warm
    for why, token in forged(app, user, ["members-only-articles"]).items():
        _status, body, _headers = fetch(site.posts["river"]["url"], token)
        assert SECRET not in body, why
        assert BOX in body, why


@pytest.mark.config(ACCESS_TOKEN_KEYS=OLD)
def test_a_rotated_key_is_accepted_at_once_and_old_tokens_work_until_they_expire(
    site, app, world, backend_calls
):
    user = _member(world)
    url = site.posts["river"]["url"]
    old_token = _token(app, user, ["members-only-articles"])
    assert SECRET in fetch(url, old_token)[1]  # the key set {2026-old} is cached now

    app.config["ACCESS_TOKEN_KEYS"] = f"{NEW},{OLD}"  # step 1 of a rotation, deployed
    new_token = _token(app, user, ["members-only-articles"])
    assert jwt.get_unverified_header(new_token)["kid"] == "2027-new"
    backend_calls.clear()
    # The set was fetched moments ago, so the unknown key id may not fetch it again yet (30 s):
    # the access API decides, and the member reads on.
    assert SECRET in fetch(url, new_token)[1]
    assert backend_calls.paths == ["/api/v1/access"]

    site.php("age-keys", "31")  # half a minute later: the unknown key id fetches the set
    backend_calls.clear()
    assert SECRET in fetch(url, new_token)[1]
    assert backend_calls.paths == ["/api/v1/keys"]
    backend_calls.clear()
    assert SECRET in fetch(url, new_token)[1]
    assert SECRET in fetch(url, old_token)[1]  # the old key is still in the set
    assert backend_calls.paths == []

    app.config["ACCESS_TOKEN_KEYS"] = NEW  # step 2: the old key removed
    site.php("age-keys", "301")  # the cache's five minutes are over
    _status, body, _headers = fetch(url, old_token)
    assert SECRET not in body and BOX in body
    assert SECRET in fetch(url, new_token)[1]


def test_rules_come_from_the_backend_and_changes_arrive_within_the_cache_time(
    site, world, backend_calls
):
    url = site.posts["weather"]["url"]
    assert "OPEN-TO-ALL" in fetch(url)[1]
    world.rule("tag", "news", "members-only-articles")  # staff gate the news category
    assert "OPEN-TO-ALL" in fetch(url)[1]  # the answer is cached for five minutes
    site.php("age-rules", "301")
    _status, body, _headers = fetch(url)
    assert "OPEN-TO-ALL" not in body and BOX in body


def test_a_failing_backend_leaves_the_last_keys_and_rules_working(site, app, world, backend_calls):
    user = _member(world)
    token = _token(app, user, ["members-only-articles"])
    river = site.posts["river"]["url"]
    assert SECRET in fetch(river, token)[1]
    assert BOX in fetch(river)[1]

    backend_calls.down = True  # every answer to WordPress is a 503 from now on
    site.php("age-keys", "301")
    site.php("age-rules", "301")
    backend_calls.clear()
    assert SECRET in fetch(river, token)[1]  # the last key set and rule answer still decide
    assert BOX in fetch(river)[1]
    assert sorted(backend_calls.paths) == ["/api/v1/access", "/api/v1/keys"]
    backend_calls.clear()
    for _ in range(3):
        fetch(river, token)
    assert backend_calls.paths == []  # and the backend is left alone for 30 seconds
    assert site.php("transient", "membership_access_problem")["value"]["message"]


@pytest.mark.parametrize(
    ("language", "box", "join"),
    [
        ("ka_GE", "ეს სტატია წევრებისთვისაა.", "გახდით წევრი"),
        ("hy", "Այս հոդվածը անդամների համար է։", "Դարձեք անդամ"),  # noqa: RUF001 (Armenian full stop)
        ("az", "Bu məqalə üzvlər üçündür.", "Üzv olun"),
        ("ru_RU", "Эта статья только для подписчиков.", "Оформить подписку"),
    ],
)
def test_the_box_speaks_the_sites_language(site, language, box, join):
    site.php("option", "test_locale", language)
    try:
        _status, body, _headers = fetch(site.posts["river"]["url"])
    finally:
        site.php("option", "test_locale", "")
    assert box in body and join in body
    assert SECRET not in body
