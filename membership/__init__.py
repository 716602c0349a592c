"""The membership app: create_app() wires configuration, extensions and blueprints."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from flask import Flask, request

from membership.config import ROOT, from_environment

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, or from `test_config` on top of it in tests."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if test_config is None:
        app.config.from_mapping(from_environment())
    else:
        app.config.from_mapping(test_config)

    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    _behind_proxies(app)  # last: outermost, so every layer below sees the client's own request
    _warn_plain_http(app)
    return app


def _behind_proxies(app: Flask) -> None:
    """With TRUSTED_PROXIES=N, take the client's address, scheme and host from the last N
    proxies' X-Forwarded-For/-Proto/-Host (Werkzeug's ProxyFix); with 0 ignore those headers."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _warn_plain_http(app: Flask) -> None:
    """Say once, when the app starts serving, that a plain-HTTP BASE_URL sends cookies without
    Secure (and no HSTS). `make run` and debug are local, so they stay quiet, and so do
    `flask` commands, which serve nothing."""
    if app.config["BASE_URL"].lower().startswith("https://"):
        return
    if app.config.get("DEBUG") or app.config.get("DEV_SERVER"):
        return
    lock = threading.Lock()
    said = []

    @app.before_request
    def _say_plain_http_once() -> None:
        if said:
            return
        with lock:
            if said:
                return
            said.append(True)
        log.warning(
            "BASE_URL %s is plain HTTP: cookies are sent without Secure and no HSTS header is "
            "set. Serve the app behind TLS with an https:// BASE_URL in production.",
            app.config["BASE_URL"],
        )


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions and the app-wide hooks."""
    from membership import attribution, edge, errors, i18n, mail, models, security  # noqa: F401
    from membership.accounts.models import User
    from membership.extensions import csrf, db, limiter, login_manager, migrate
    from membership.timeutil import render_migration_item

    edge.init_app(app)  # first: the id converter before any route, the NUL check before any hook
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        compare_type=True,
        render_as_batch=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    @limiter.request_filter
    def _machine_routes() -> bool:
        """Rate limits guard people's forms; machine routes (signed or read-only) skip the check."""
        return request.path.startswith(("/api/", "/webhooks/", "/healthz"))

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    _lazy_remember_cookie(app)

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        from sqlalchemy import select

        return db.session.scalar(
            select(User).where(User.session_token == session_token, User.deleted_at.is_(None))
        )

    from membership.money import format_money

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["grace"] = timedelta(days=int(app.config.get("GRACE_DAYS", 7)))

    @app.context_processor
    def _site():
        return {
            "site_name": app.config.get("SITE_NAME", "Newsroom Members"),
            "stripe_sandbox": app.config.get("STRIPE_SANDBOX", False),
        }

    i18n.init_app(app)
    security.init_app(app)
    attribution.init_app(app)  # first touches (utm_*, ref, referrer) kept until signup
    mail.init_app(app)
    errors.init_app(app)


def _lazy_remember_cookie(app: Flask) -> None:
    """Run Flask-Login's remember-cookie hook only when the request used the session.

    The hook reads the session on every response, which marks it accessed and so adds
    `Vary: Cookie` even to public answers. A `_remember` flag is only ever set and consumed
    within one request that used the session, so an untouched session has nothing to do.
    """
    from flask.globals import request_ctx

    from membership.extensions import login_manager

    hooks = app.after_request_funcs.setdefault(None, [])
    original = login_manager._update_remember_cookie
    if original not in hooks:
        return

    def _remember_cookie(response):
        opened = request_ctx._get_current_object()._session
        if opened is not None and (
            opened.accessed or app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
        ):
            return original(response)
        return response

    hooks[hooks.index(original)] = _remember_cookie


def register_blueprints(app: Flask) -> None:
    """Mount every page and API."""
    from membership.access import register as register_access
    from membership.accounts.signin_views import bp as signin_bp
    from membership.accounts.views import bp as accounts_bp
    from membership.admin import register as register_admin
    from membership.billing import handlers  # noqa: F401 - registers the webhook handlers
    from membership.billing.views import bp as billing_bp
    from membership.billing.webhooks import bp as webhooks_bp
    from membership.main.views import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(signin_bp)  # sign-in by e-mail: /login/email, /login/code
    app.register_blueprint(billing_bp)
    from membership.gifts import handlers as gift_handlers  # noqa: F401 - webhook handlers
    from membership.gifts.views import bp as gifts_bp

    app.register_blueprint(gifts_bp)
    app.register_blueprint(webhooks_bp)
    register_access(app)  # article access: API, demo page

    from membership.fundraisers import register as register_fundraisers

    register_fundraisers(app)  # collective fundraiser: pages, progress API
    from membership.donors import register as register_donors

    register_donors(app)  # donors' yearly statements (after the fundraiser's account section)

    from membership.host import register as register_host

    register_host(app)  # its fiscal host: transparency page and API, statements
    register_admin(app)  # the staff area, the fundraiser's and access rules' pages included


def register_commands(app: Flask) -> None:
    """Add the `flask` sub-commands."""
    from membership import cli

    cli.init_app(app)
