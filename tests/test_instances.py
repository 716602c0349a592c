"""Several instances are one: two `create_app()` (this process and another one) on the same
database and the same private Redis agree on sessions, CSRF, rate limits and what a gift changed."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from membership.fundraisers import totals
from tests.conftest import PASSWORD, Actions, StripeWorld
from tests.fundraisers.conftest import SLUG, give_and_pay, make_campaign
from tests.redis_server import PrivateRedis, free_port
from tests.webclient import Browser, build_app, close_app, register

ROOT = Path(__file__).resolve().parent.parent
FRESHNESS = 0.5  # the documented default of both fundraiser caches


class Remote:
    """A browser talking HTTP to the other instance, keeping its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": "localhost", "Referer": f"http://localhost{path}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text

    def form(self, path: str, data: dict) -> int:
        _, html = self.request("GET", path)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        return self.request("POST", path, {**data, "csrf_token": token})[0]


@pytest.fixture
def instances(app, database_url, tmp_path):
    """(app of this process, port of the other instance), on one database and one Redis."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    environ = {"REDIS_URL": redis.url}
    limits = {"RATE_LIMIT_LOGIN": "3 per minute"}
    freshness = {"FUNDRAISER_PAGE_FRESHNESS": FRESHNESS, "FUNDRAISER_PROGRESS_FRESHNESS": FRESHNESS}
    here = build_app(app, database_url, **environ, **limits)
    here.config.update(freshness)
    mail = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "OUTBOX_DIR", "STRIPE_API_BASE")
    spec = {
        "database_url": database_url,
        "environ": environ,
        "settings": {**{k: app.config[k] for k in mail}, **limits, **freshness},
    }
    port = free_port()
    other = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "instance_server.py"), str(port), json.dumps(spec)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "ready"
        totals.MEMO.clear()
        yield here, port
    finally:
        other.terminate()
        other.wait(timeout=10)
        other.stdout.close()
        close_app(here)
        redis.stop()
        totals.MEMO.clear()


def test_a_session_and_its_csrf_token_work_on_either_instance(instances):
    here, port = instances
    browser = Browser(here, "http://localhost")
    assert register(browser).status_code == 303
    there = Remote(port)
    there.cookies["session"] = browser.client.get_cookie("session").value
    status, html = there.request("GET", "/account")
    assert status == 200 and "reader@example.org" in html

    # A form shown by the other instance is accepted here: its CSRF token is the session's.
    fresh = Remote(port)
    _, login_page = fresh.request("GET", "/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    here_browser = Browser(here, "http://localhost")
    here_browser.client.set_cookie("session", fresh.cookies["session"], domain="localhost")
    signed_in = here_browser.request(
        "POST",
        "/login",
        data={"email": "reader@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 303


def test_a_rate_limit_counted_on_one_instance_applies_on_the_other(instances):
    here, port = instances
    wrong = {"password": "not the password"}
    browser = Browser(here, "http://localhost")  # both see the client 127.0.0.1
    assert browser.form("/login", {"email": "a@example.org", **wrong}).status_code == 400
    assert browser.form("/login", {"email": "b@example.org", **wrong}).status_code == 400
    there = Remote(port)
    assert there.form("/login", {"email": "c@example.org", **wrong}) == 400  # the third
    assert there.form("/login", {"email": "d@example.org", **wrong}) == 429
    assert browser.form("/login", {"email": "e@example.org", **wrong}).status_code == 429


def test_a_gift_through_one_instance_shows_on_the_other_within_the_freshness(
    instances, sandbox, mailbox
):
    here, port = instances
    with here.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()
        make_campaign()
    there = Remote(port)
    progress = f"/api/v1/fundraisers/{SLUG}/progress"
    assert json.loads(there.request("GET", progress)[1])["raised"] == 0
    status, page_before = there.request("GET", f"/fundraisers/{SLUG}")
    assert status == 200

    sandbox.reset()
    sandbox.set_webhook_url(None)
    client = here.test_client()
    give_and_pay(Actions(client, mailbox), StripeWorld(sandbox, client), amount="25")
    landed = time.monotonic()

    while json.loads(there.request("GET", progress)[1])["raised"] != 2500:
        assert time.monotonic() - landed < FRESHNESS + 1.0, "the other instance stayed stale"
        time.sleep(0.05)
    while there.request("GET", f"/fundraisers/{SLUG}")[1] == page_before:
        assert time.monotonic() - landed < FRESHNESS + 1.0, "the other page stayed stale"
        time.sleep(0.05)
