"""Article access for the newsroom's CMS: rules, the access API, signed tokens and metering."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the API at /api/v1, the demo page and commands (staff pages: membership/admin)."""
    from membership.access import cli, demo, fastpath, tokens, views

    # A malformed ACCESS_TOKEN_KEYS stops the app here, not every signed-in page later.
    tokens.parse_keys(app.config.get("ACCESS_TOKEN_KEYS") or "", app.config["SECRET_KEY"])

    app.register_blueprint(views.bp, url_prefix="/api/v1")
    app.register_blueprint(demo.bp, url_prefix="/demo")
    cli.init_app(app)
    fastpath.init_app(app)  # the signed-in reader's common question, below Flask
