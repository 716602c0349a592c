"""The fiscal host: who holds the Stripe account, its fee, the outlets' accounts and grants."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the transparency page and API, and the `flask host` commands."""
    from membership.host import api, cli, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.cli.add_command(cli.host_cli)
    app.jinja_env.globals["newsroom_of"] = newsroom_of


def newsroom_of(user):
    """The outlet an account works for (the navigation links its statement), or None."""
    from membership.extensions import db
    from membership.fundraisers.models import Outlet
    from membership.host.staffing import outlet_scope

    outlet_id = outlet_scope(user)
    return db.session.get(Outlet, outlet_id) if outlet_id is not None else None
