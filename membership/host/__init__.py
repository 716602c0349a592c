"""The fiscal host: who holds the Stripe account, its fee, the outlets' accounts and grants."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the transparency page and API, and the `flask host` commands."""
    from membership.host import api, cli, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.cli.add_command(cli.host_cli)
