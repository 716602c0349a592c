"""Settings, read only from the environment (and `.env` when present)."""

from __future__ import annotations

import math
import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# Public constants of the offline sandbox (stripe_sandbox/__init__.py holds the same values);
# repeated here so that production never imports the sandbox package.
SANDBOX_API_KEY = "sk_test_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_0000000000000000000000000000"  # noqa: S105  # nosec B105

# Seconds a Redis call made while answering a page may take (connect, then each read).
REDIS_TIMEOUT = 0.5

DEV_SECRET_KEY = "dev-only-secret-key-never-in-production"  # noqa: S105  # nosec B105
# The test-suite's fixed key (test_config below).
TEST_SECRET_KEY = "test-secret-key"  # noqa: S105  # nosec B105


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _bool(value: str | None, default: bool = False) -> bool:
    """Read an environment flag such as 1/true/yes."""
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    """Read an integer setting, naming the setting when it is not one."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _count(env: dict[str, str], name: str, default: int) -> int:
    """Read a whole number 0 or more, naming the setting when it is not one."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number, 0 or more, got {raw!r}")
    return int(raw)


def _within(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """Read a whole number from low to high, naming the setting when it is not one."""
    value = _count(env, name, default)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float, positive: bool = False) -> float:
    """Read a finite non-negative (or, with `positive`, above zero) number of seconds, naming
    the setting when it is not one."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        more = "more than 0" if positive else "0 or more"
        raise ConfigError(f"{name} must be a finite number of seconds, {more}, got {raw!r}")
    return value


def public_address(base_url: str) -> dict[str, object]:
    """BASE_URL and what its scheme decides: browsers keep a Secure cookie only from an https
    page, so every cookie is Secure exactly when BASE_URL is https (security.py adds HSTS then),
    and the same app signs people in behind TLS and, for a first try or an intranet, over HTTP."""
    https = base_url.lower().startswith("https://")
    return {
        "BASE_URL": base_url,
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "ACCESS_COOKIE_SECURE": https,
    }


def _processing(env: dict[str, str]) -> str:
    """WEBHOOK_PROCESSING: inline (the default) or queued."""
    mode = (env.get("WEBHOOK_PROCESSING") or "").strip().lower() or "inline"
    if mode not in ("inline", "queued"):
        raise ConfigError(f"WEBHOOK_PROCESSING must be inline or queued, got {mode!r}")
    return mode


def engine_options(database_url: str) -> dict[str, object]:
    """SQLAlchemy engine options that survive a database restart.

    A pooled connection is pinged as it is checked out (one round trip, invisible next to a
    page), so the first request after PostgreSQL restarted gets a fresh connection instead of
    a 500; a connection attempt to an unreachable server gives up after 5 s instead of hanging
    the page (and `/healthz` answers 503 within that time)."""
    options: dict[str, object] = {"pool_pre_ping": True, "pool_recycle": 300}
    if database_url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": 5}
    return options


def from_environment(env: dict[str, str] | None = None) -> dict[str, object]:
    """Build Flask settings from environment variables; refuses to run without a secret key."""
    if env is None:
        load_dotenv(ROOT / ".env", override=False)
        env = dict(os.environ)

    debug = _bool(env.get("FLASK_DEBUG"))
    dev_server = _bool(env.get("MEMBERSHIP_DEV_SERVER"))  # set by `make run` only
    secret_key = env.get("SECRET_KEY") or ""
    if not secret_key:
        if not (debug or dev_server):
            raise ConfigError(
                "SECRET_KEY is not set. Set it in the environment (see .env.example); "
                "only `make run` or FLASK_DEBUG=1 may run without it."
            )
        secret_key = DEV_SECRET_KEY

    stripe_key = env.get("STRIPE_SECRET_KEY") or ""
    sandbox = not stripe_key
    webhook_secret = env.get("STRIPE_WEBHOOK_SECRET") or (SANDBOX_WEBHOOK_SECRET if sandbox else "")
    base_url = (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    redis_url = env.get("REDIS_URL") or None

    database_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'membership.sqlite3'}"

    return {
        "SECRET_KEY": secret_key,
        "DEBUG": debug,
        "DEV_SERVER": dev_server,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        **public_address(base_url),  # BASE_URL and the cookies' Secure flag
        "SITE_NAME": env.get("SITE_NAME") or "Newsroom Members",
        # Who receives the money, as receipts name it for the donor's and member's records.
        "HOST_LEGAL_NAME": env.get("HOST_LEGAL_NAME") or env.get("SITE_NAME") or "Newsroom Members",
        "HOST_ADDRESS": env.get("HOST_ADDRESS") or "",
        "HOST_REGISTRATION": env.get("HOST_REGISTRATION") or "",
        "STRIPE_SECRET_KEY": stripe_key or SANDBOX_API_KEY,
        "STRIPE_SANDBOX": sandbox,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        # Seconds one Stripe call may wait on the network, all its attempts together.
        "STRIPE_TIMEOUT": _float(env, "STRIPE_TIMEOUT", 10.0, positive=True),
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int(env, "MAIL_PORT", 587),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS"), default=True),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "members@localhost",
        "OUTBOX_DIR": str(INSTANCE / "outbox"),
        "REDIS_URL": redis_url,
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (ProxyFix); with 0
        # those headers are ignored, so a client cannot choose its own address.
        "TRUSTED_PROXIES": _count(env, "TRUSTED_PROXIES", 0),
        # Webhook events: "queued" (stored and answered; `flask worker` runs them) or "inline"
        # (run in the webhook request, the default).
        "WEBHOOK_PROCESSING": _processing(env),
        # How often an idle worker looks for due events: on PostgreSQL it is woken by NOTIFY
        # and this is the fallback (default 5 s); on SQLite it polls (default 0.2 s).
        "WORKER_POLL_SECONDS": _float(env, "WORKER_POLL_SECONDS", 0.0, positive=True) or None,
        # First pause before a failed mail is retried by the worker; it doubles, up to an hour.
        "MAIL_RETRY_SECONDS": _float(env, "MAIL_RETRY_SECONDS", 30.0, positive=True),
        "QUEUE_PREFIX": env.get("QUEUE_PREFIX") or "",
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis away: count in this process's memory (Flask-Limiter logs the switch once) and go
        # back to Redis when its check answers again; a hung Redis costs a request at most 0.5 s.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}
            if redis_url
            else {}
        ),
        "ACCESS_TOKEN_TTL": _int(env, "ACCESS_TOKEN_TTL", 900),
        "COOKIE_DOMAIN": env.get("COOKIE_DOMAIN") or None,
        # Ed25519 signing keys of access tokens, "kid:base64url-seed,…"; the first one signs.
        "ACCESS_TOKEN_KEYS": env.get("ACCESS_TOKEN_KEYS") or "",
        "CMS_ORIGINS": [
            origin.strip().rstrip("/")
            for origin in (env.get("CMS_ORIGINS") or "").split(",")
            if origin.strip()
        ],
        "METER_FREE_ARTICLES": _int(env, "METER_FREE_ARTICLES", 3),
        # The largest member file the staff page takes (flask members import has no limit).
        "MEMBER_IMPORT_MAX_BYTES": _int(env, "MEMBER_IMPORT_MAX_BYTES", 5 * 1024 * 1024),
        # PostgreSQL: remember access facts per connection, kept exact by LISTEN/NOTIFY.
        "ACCESS_LIVE_CACHE": _bool(env.get("ACCESS_LIVE_CACHE"), default=True),
        # Every body is bounded (chunked ones too): no form or Stripe event comes near 1 MiB.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "EMAIL_TOKEN_MAX_AGE": _int(env, "EMAIL_TOKEN_MAX_AGE", 48 * 3600),
        "RESET_TOKEN_MAX_AGE": _int(env, "RESET_TOKEN_MAX_AGE", 3600),
        # Sign-in by e-mail: how long a link and its code work (accounts/signin_links.py).
        "SIGN_IN_LINK_MAX_AGE": _int(env, "SIGN_IN_LINK_MAX_AGE", 15 * 60),
        "RATE_LIMIT_LOGIN": env.get("RATE_LIMIT_LOGIN") or "10 per minute;100 per day",
        "RATE_LIMIT_REGISTER": env.get("RATE_LIMIT_REGISTER") or "5 per minute;50 per day",
        "RATE_LIMIT_RESET": env.get("RATE_LIMIT_RESET") or "5 per minute;50 per day",
        # "Send me a sign-in link": per client address, and (stricter: each one mails the
        # address's owner) per submitted address.
        "RATE_LIMIT_SIGN_IN_LINK": env.get("RATE_LIMIT_SIGN_IN_LINK") or "5 per minute;50 per day",
        "RATE_LIMIT_SIGN_IN_ADDRESS": (
            env.get("RATE_LIMIT_SIGN_IN_ADDRESS") or "3 per 15 minutes;10 per day"
        ),
        # Donation form posts per client address: each one asks Stripe for a Checkout Session.
        "RATE_LIMIT_DONATE": env.get("RATE_LIMIT_DONATE") or "20 per minute",
        # Seconds the anonymous campaign page is served from the per-process micro-cache.
        "FUNDRAISER_PAGE_FRESHNESS": _float(env, "FUNDRAISER_PAGE_FRESHNESS", 0.5),
        "GRACE_DAYS": _int(env, "GRACE_DAYS", 7),
        # Payment recovery (docs/memberships.md#payment-recovery): after a failed renewal the
        # member is mailed at once, reminded DUNNING_REMINDER_DAYS later and warned
        # DUNNING_LAST_NOTICE_DAYS before the grace period ends; 0 turns either mail off.
        "DUNNING_REMINDER_DAYS": _count(env, "DUNNING_REMINDER_DAYS", 3),
        "DUNNING_LAST_NOTICE_DAYS": _count(env, "DUNNING_LAST_NOTICE_DAYS", 1),
        # Seconds the "update my card" link in those mails works (and only while it is due).
        "PAYMENT_LINK_MAX_AGE": _count(env, "PAYMENT_LINK_MAX_AGE", 14 * 86400),
        # "Your trial ends on …" (customer.subscription.trial_will_end) and the yearly renewal
        # notice (invoice.upcoming); 0 turns each off.
        "TRIAL_ENDING_MAIL": _bool(env.get("TRIAL_ENDING_MAIL"), default=True),
        "RENEWAL_NOTICE_MAIL": _bool(env.get("RENEWAL_NOTICE_MAIL"), default=True),
        # The cancel page's retention offer: RETENTION_OFFER_PERCENT off each monthly payment
        # for RETENTION_OFFER_MONTHS months (a Stripe coupon the app makes); 0: no offer.
        # `make run` shows 25 % for 3 months unless set.
        "RETENTION_OFFER_PERCENT": _within(
            env, "RETENTION_OFFER_PERCENT", 25 if dev_server else 0, 0, 100
        ),
        "RETENTION_OFFER_MONTHS": _within(env, "RETENTION_OFFER_MONTHS", 3, 1, 12),
        "ARGON2_TIME_COST": _int(env, "ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int(env, "ARGON2_MEMORY_COST", 65536),
        "BABEL_DEFAULT_LOCALE": "en",
        # Catalogues: translations/<lang>/LC_MESSAGES/messages.po, compiled by `make install`.
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "LANGUAGES": {
            "en": "English",
            "ka": "ქართული",
            "hy": "Հայերեն",
            "az": "Azərbaycanca",
            "ru": "Русский",
        },
    }


def test_config(
    database_url: str, environ: dict[str, str] | None = None, **overrides: object
) -> dict[str, object]:
    """Settings for the test-suite: fast hashing, generous rate limits, a given database;
    `environ` adds environment variables (BASE_URL, TRUSTED_PROXIES…) read as in production."""
    config = from_environment(
        {
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "STRIPE_API_BASE": "",
            **(environ or {}),
        }
    )
    config.update(
        TESTING=True,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_COST=1024,
        RATE_LIMIT_LOGIN="1000 per minute",
        RATE_LIMIT_REGISTER="1000 per minute",
        RATE_LIMIT_RESET="1000 per minute",
        RATE_LIMIT_SIGN_IN_LINK="1000 per minute",
        RATE_LIMIT_SIGN_IN_ADDRESS="1000 per minute",
        RATE_LIMIT_DONATE="1000 per minute",
        SQLALCHEMY_ENGINE_OPTIONS={},
    )
    config.update(overrides)
    return config
