"""A browser-like test client and helpers shared by the proxy, Redis and instance tests."""

from __future__ import annotations

import re

from membership import create_app
from membership.accounts.background import background
from membership.config import test_config
from membership.extensions import db, limiter
from tests.conftest import PASSWORD


class Browser:
    """A test client that, like a browser, keeps no `Secure` cookie an http page sets."""

    def __init__(self, app, base_url: str, **environ) -> None:
        self.client = app.test_client()
        self.base_url = base_url
        self.environ = environ
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, **kw):
        kw.setdefault("base_url", self.base_url)
        kw.setdefault("environ_base", self.environ)
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("Referer", self.base_url + path)  # browsers send it on form posts
        response = self.client.open(path, method=method, headers=headers, **kw)
        for header in response.headers.getlist("Set-Cookie"):
            self.set_cookies.append(header)
            name = header.split("=", 1)[0]
            attributes = {part.strip().lower() for part in header.split(";")[1:]}
            if "secure" in attributes and self.base_url.startswith("http://"):
                self.client.delete_cookie(name, domain="localhost")
        return response

    def form(self, path: str, data: dict, page: str | None = None, **kw):
        """GET the page (`path`, or the `page` that shows the form), then POST the form with
        its CSRF token."""
        html = self.request("GET", page or path, **kw).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, f"no CSRF token on {path}"
        return self.request("POST", path, data={**data, "csrf_token": match.group(1)}, **kw)


def build_app(app, database_url: str, **environ: str):
    """Another app on the test database of the suite's `app` (its mail and Stripe sandbox),
    built from environment variables as in production (RATE_LIMIT_* ones too, which the test
    settings otherwise raise)."""
    settings = {
        name: app.config[name]
        for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "OUTBOX_DIR", "STRIPE_API_BASE")
    }
    settings.update({k: v for k, v in environ.items() if k.startswith("RATE_LIMIT_")})
    built = create_app(test_config(database_url, environ=environ, **settings))
    if not environ.get("REDIS_URL"):  # a private Redis starts empty (and may be unreachable)
        with built.app_context():
            limiter.reset()
    return built


def close_app(built) -> None:
    """Let what a request left running finish, then give back the app's database connections."""
    background(built).wait()
    with built.app_context():
        db.session.remove()
        db.engine.dispose()


def register(browser: Browser, email: str = "reader@example.org"):
    return browser.form(
        "/register", {"email": email, "password": PASSWORD, "name": "Nino", "locale": "en"}
    )


def wrong_login(app, email: str, forwarded_for: str | None, remote: str = "10.0.0.1") -> int:
    """One wrong password from the client behind `forwarded_for` through a proxy at `remote`
    (or, without `forwarded_for`, from `remote` itself); returns the answer's status."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    browser = Browser(app, "http://localhost", REMOTE_ADDR=remote)
    return browser.form(
        "/login", {"email": email, "password": "not the password"}, headers=headers
    ).status_code
