"""App-wide behaviour: headers, error pages, health, language, configuration."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from membership import create_app
from membership.accounts.models import User
from membership.config import ConfigError, from_environment
from membership.extensions import db


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_friendly_404_and_json_errors_under_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json()["error"]["status"] == 404
    hook = client.get("/webhooks/nothing")
    assert hook.get_json()["error"]["status"] == 404


def test_500_rolls_back_and_shows_a_page(app):
    def boom():
        db.session.add(User(email="half@example.org", password_hash="x", name="Half"))
        db.session.flush()
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/boom", "api_boom", boom)
    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert client.get("/api/boom").get_json()["error"]["status"] == 500
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": True}


def test_healthz_when_the_database_is_down(app):
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:////nonexistent-dir/x.sqlite3"
    broken = create_app(dict(app.config))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] is False
    with broken.app_context():
        db.engine.dispose()


def test_language_from_browser_and_from_choice(client):
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru"' in page.get_data(as_text=True)
    page = client.get("/?lang=hy")
    assert '<html lang="hy"' in page.get_data(as_text=True)
    assert '<html lang="hy"' in client.get("/").get_data(as_text=True)  # remembered


def test_sandbox_banner_without_stripe_keys(client):
    assert "Sandbox payments: no real money" in client.get("/").get_data(as_text=True)


def test_refuses_to_start_without_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        from_environment({})
    assert from_environment({"FLASK_DEBUG": "1"})["SECRET_KEY"]
    assert from_environment({"MEMBERSHIP_DEV_SERVER": "1"})["SECRET_KEY"]


def test_bad_numbers_in_settings_are_named():
    with pytest.raises(ConfigError, match="MAIL_PORT"):
        from_environment({"SECRET_KEY": "x", "MAIL_PORT": "smtp"})


def test_cookies_are_secure_exactly_when_base_url_is_https():
    https = from_environment({"SECRET_KEY": "x", "BASE_URL": "https://members.example.org"})
    http = from_environment({"SECRET_KEY": "x", "BASE_URL": "http://members.intranet"})
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "ACCESS_COOKIE_SECURE"):
        assert https[name] is True
        assert http[name] is False


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("WORKER_POLL_SECONDS", "0"),  # a worker that never pauses would hammer the database
        ("WORKER_POLL_SECONDS", "inf"),
        ("FUNDRAISER_PAGE_FRESHNESS", "nan"),
        ("FUNDRAISER_PAGE_FRESHNESS", "-1"),
    ],
)
def test_durations_must_be_finite_and_in_range(name, raw):
    with pytest.raises(ConfigError, match=name):
        from_environment({"SECRET_KEY": "x" * 32, name: raw})
