"""Behind a proxy or not: cookies follow BASE_URL's scheme, client addresses come from trusted
proxies only, and rate limits count per real client."""

from __future__ import annotations

import logging

import pytest

from membership.config import ConfigError, from_environment
from tests.conftest import PASSWORD
from tests.webclient import Browser, register, wrong_login


def test_reader_registers_and_signs_in_over_plain_http(make_app):
    app = make_app(BASE_URL="http://members.intranet")
    browser = Browser(app, "http://localhost")

    registered = register(browser)
    assert registered.status_code == 303, registered.get_data(as_text=True)
    assert browser.request("GET", "/account").status_code == 200
    assert browser.form("/logout", {}, page="/account").status_code == 303
    assert browser.request("GET", "/account").status_code == 302  # signed out
    signed_in = browser.form("/login", {"email": "reader@example.org", "password": PASSWORD})

    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    assert browser.request("GET", "/account").status_code == 200
    assert browser.set_cookies
    assert not any("secure" in c.lower().split("; ") for c in browser.set_cookies)
    assert "Strict-Transport-Security" not in signed_in.headers


def test_https_base_url_sends_secure_cookies_and_hsts(make_app):
    app = make_app(BASE_URL="https://members.example.org")
    browser = Browser(app, "https://localhost")

    registered = register(browser)
    assert registered.status_code == 303, registered.get_data(as_text=True)
    token = browser.request("GET", "/api/v1/token")

    cookies = {c.split("=", 1)[0]: c for c in browser.set_cookies}
    assert {"session", "access_token"} <= cookies.keys()
    assert all("Secure" in c.split("; ") for c in browser.set_cookies)
    for response in (registered, token, browser.request("GET", "/")):
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_plain_http_is_said_once_when_serving_starts_outside_debug(make_app, caplog):
    def warnings_after(app, requests: int) -> int:
        caplog.clear()
        for _ in range(requests):
            app.test_client().get("/login")
        return len([r for r in caplog.records if "plain HTTP" in r.getMessage()])

    caplog.set_level(logging.WARNING, logger="membership")
    assert warnings_after(make_app(BASE_URL="http://members.intranet"), 3) == 1
    assert warnings_after(make_app(BASE_URL="http://127.0.0.1:5000", FLASK_DEBUG="1"), 3) == 0
    assert warnings_after(make_app(BASE_URL="https://members.example.org"), 3) == 0
    caplog.clear()
    make_app(BASE_URL="http://members.intranet")  # a `flask` command builds the app, serves nothing
    assert not [r for r in caplog.records if "plain HTTP" in r.getMessage()]


@pytest.mark.parametrize("raw", ["-1", "one", "1.5", " 2x"])
def test_trusted_proxies_must_be_a_whole_number(raw):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        from_environment({"SECRET_KEY": "x", "TRUSTED_PROXIES": raw})
    assert from_environment({"SECRET_KEY": "x", "TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
    assert from_environment({"SECRET_KEY": "x"})["TRUSTED_PROXIES"] == 0


def test_behind_a_trusted_proxy_each_client_has_its_own_login_limit(make_app):
    app = make_app(TRUSTED_PROXIES="1", RATE_LIMIT_LOGIN="10 per minute")

    strangers = [wrong_login(app, f"p{n}@example.org", f"198.51.100.{n}") for n in range(10)]
    assert strangers == [400] * 10
    assert wrong_login(app, "next@example.org", "198.51.100.77") == 400  # not locked out

    one_client = [wrong_login(app, f"q{n}@example.org", "203.0.113.9") for n in range(10)]
    assert one_client == [400] * 10
    assert wrong_login(app, "q99@example.org", "203.0.113.9") == 429
    assert wrong_login(app, "other@example.org", "203.0.113.10") == 400


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(make_app):
    app = make_app(RATE_LIMIT_LOGIN="10 per minute")

    forged = [wrong_login(app, f"p{n}@example.org", f"198.51.100.{n}") for n in range(10)]
    assert forged == [400] * 10
    assert wrong_login(app, "next@example.org", "198.51.100.77") == 429
    assert wrong_login(app, "next@example.org", None) == 429


def test_trusted_proxy_gives_the_scheme_and_host_to_links(make_app):
    app = make_app(TRUSTED_PROXIES="1")
    seen = {}

    @app.get("/_probe")
    def _probe():
        from flask import request

        seen.update(url=request.url, addr=request.remote_addr)
        return ""

    app.test_client().get(
        "/_probe",
        base_url="http://app.internal:8000",
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={
            "X-Forwarded-For": "198.51.100.4",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "members.example.org",
        },
    )
    assert seen == {"url": "https://members.example.org/_probe", "addr": "198.51.100.4"}
