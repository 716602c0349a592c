"""`flask access …`: signing keys and API keys from the command line."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from membership.access import api_keys, tokens
from membership.accounts import services as accounts
from membership.accounts.models import Role
from membership.extensions import db

access_cli = AppGroup("access", help="Article access: signing keys, CMS API keys.")


@access_cli.command("new-key")
def new_key() -> None:
    """Print a fresh Ed25519 signing-key entry for ACCESS_TOKEN_KEYS (put it first to rotate)."""
    click.echo(tokens.new_key_spec())


@access_cli.command("create-api-key")
@click.argument("name")
@click.option("--admin", "admin_email", required=True, help="E-mail of the admin creating it.")
def create_api_key(name: str, admin_email: str) -> None:
    """Create a CMS API key and print it once."""
    admin = accounts.find_by_email(admin_email)
    if admin is None or not admin.has_role(Role.admin):
        db.session.rollback()
        raise click.ClickException("--admin must name an admin account")
    _row, key = api_keys.create_api_key(name, admin)
    db.session.commit()
    click.echo(key)


def init_app(app: Flask) -> None:
    """Attach the command group."""
    app.cli.add_command(access_cli)
