"""Fixtures for the WordPress plugin's tests (tests/wordpress/ and tests/browser/), a pytest plugin
of tests/conftest.py so that both directories share one site: a real WordPress once per session,
pointed in each test at that test's app (its `live_server`) with an API key, and a record of what
WordPress asked the app.

Without PHP, Debian's WordPress or MariaDB these tests skip and say why; where the run requires
the browser tests (REQUIRE_BROWSER=1, as in CI) they fail instead.
"""

from __future__ import annotations

import urllib.request

import pytest

from membership.access.api_keys import create_api_key
from membership.accounts.models import Role
from membership.extensions import db
from tests.access.conftest import AccessWorld
from tests.backend_calls import Calls, record
from tests.conftest import unavailable
from tests.factories import make_user
from tests.wordpress.site import WordPressSite, missing

PLUGIN_AGENT = "membership-access/"


@pytest.fixture(scope="session")
def wordpress(tmp_path_factory):
    """Debian's WordPress on MariaDB with the plugin active and the test's posts."""
    reason = missing()
    if reason is not None:
        unavailable("browser", f"the WordPress tests need it: {reason}")
    site = WordPressSite(tmp_path_factory.mktemp("wordpress"))
    site.build()
    try:
        site.install()
        site.start()
        yield site
    finally:
        site.close()


@pytest.fixture
def backend_calls(app) -> Calls:
    """What WordPress asked the app, path by path (its User-Agent names the plugin)."""
    return record(app, PLUGIN_AGENT)


@pytest.fixture
def site(wordpress, app, live_server, backend_calls):
    """The WordPress site, its plugin set to this test's app with a fresh API key, and the rules
    a newsroom would keep: the tag members-only and the category insider need perks."""
    with app.app_context():
        admin = make_user(email="admin@example.org", role=Role.admin)
        _row, key = create_api_key("WordPress", admin)
        db.session.commit()
    world = AccessWorld(app)
    world.rule("tag", "members-only", "members-only-articles")
    world.rule("tag", "insider", "insider-newsletter")
    wordpress.configure(
        backend_url=live_server, api_key=key, teaser_paragraphs=2, default_fundraiser=""
    )
    wordpress.api_key = key
    errors_before = len(wordpress.plugin_errors())
    yield wordpress
    assert wordpress.plugin_errors()[errors_before:] == [], "the plugin logged PHP errors"


def fetch(url: str, token: str | None = None, bearer: bool = False) -> tuple[int, str, dict]:
    """GET a WordPress page as a server-side client would: (status, body, headers)."""
    headers = {}
    if token is not None:
        headers["Authorization" if bearer else "Cookie"] = (
            f"Bearer {token}" if bearer else f"access_token={token}"
        )
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the local site
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)
