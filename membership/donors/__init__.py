"""Donors: a yearly statement of each donor's gifts (page, PDF, signed link), mailed in January."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the statement pages and the `flask donors` commands."""
    from membership.donors import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.donors_cli)
