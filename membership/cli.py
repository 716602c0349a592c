"""The `flask` sub-commands: thin wrappers over services."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from membership import mail
from membership.accounts import services as accounts
from membership.accounts.models import Role, User
from membership.extensions import db

users_cli = AppGroup("users", help="Accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
mail_cli = AppGroup("mail", help="Outgoing mail.")
stripe_cli = AppGroup("stripe", help="Stripe: sandbox, catalogue sync, reconciliation.")

DEMO_STAFF_EMAIL = "staff@example.org"


def fail(message: str) -> None:
    """Stop the command with a clear message and exit status 1 (never a traceback)."""
    db.session.rollback()
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


@users_cli.command("create-staff")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the admin role (refunds, destructive actions).")
@click.option("--password", help="Password; prompted for when absent.")
@click.option("--name", default="", help="Display name.")
def create_staff(email: str, admin: bool, password: str | None, name: str) -> None:
    """Create a staff account, or raise an existing account to staff."""
    existing = accounts.find_by_email(email)
    if password is None and existing is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_staff(email, password or "", name=name, admin=admin)
    except accounts.AccountError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"{user.email} is now {user.role.value}.")


@demo_cli.command("seed")
@click.option("--members", default=0, show_default=True, help="How many demo members to add.")
@click.option("--once", is_flag=True, help="Do nothing when demo data exists already.")
def demo_seed(members: int, once: bool) -> None:
    """Load demo data: a staff account (its password printed once) and optional members."""
    if members < 0 or members > 1_000_000:
        fail("--members must be between 0 and 1,000,000")
    staff = db.session.scalar(select(User).where(User.email == DEMO_STAFF_EMAIL))
    if once and staff is not None:
        click.echo("Demo data already loaded; nothing to do.")
        return
    created = []
    if staff is None:
        password = secrets.token_urlsafe(12)
        accounts.create_staff(DEMO_STAFF_EMAIL, password, name="Demo Staff", admin=True)
        created.append(("staff", password))
    added = _seed_members(members)
    db.session.commit()
    for _kind, password in created:
        click.secho(
            f"Staff sign-in: {DEMO_STAFF_EMAIL} / {password}  (shown once; keep it)", fg="green"
        )
    click.echo(f"Demo data loaded: {len(created)} staff account, {added} members.")


def _seed_members(count: int) -> int:
    """Add `count` verified demo members with a progress bar."""
    if count == 0:
        return 0
    from membership.accounts.passwords import hash_password
    from membership.timeutil import utcnow

    shared_hash = hash_password(secrets.token_urlsafe(16))  # demo members cannot sign in
    start = db.session.scalar(select(db.func.count(User.id))) or 0
    with click.progressbar(range(count), label="Members") as bar:
        for i in bar:
            n = start + i + 1
            db.session.add(
                User(
                    email=f"reader{n}@example.org",
                    name=f"Reader {n}",
                    password_hash=shared_hash,
                    role=Role.member,
                    verified_at=utcnow(),
                )
            )
            if i % 1000 == 999:
                db.session.flush()
    return count


@mail_cli.command("send-pending")
def send_pending() -> None:
    """Retry mails that are pending or failed."""
    count = mail.send_pending()
    click.echo(f"Sent {count} mails.")


@stripe_cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=12111, show_default=True, type=click.IntRange(0, 65535))
@click.option("--webhook-url", default=None, help="Where to deliver events.")
@click.option("--state-file", default=None, help="Keep the sandbox's state in this JSON file.")
def stripe_sandbox(host: str, port: int, webhook_url: str | None, state_file: str | None) -> None:
    """Run the offline Stripe sandbox alone (never in production)."""
    secret = current_app.config["STRIPE_SECRET_KEY"]
    if secret.startswith(("sk_live_", "rk_live_")):
        fail("the sandbox refuses live keys")
    from stripe_sandbox.cli import serve

    url = webhook_url or current_app.config["BASE_URL"] + "/webhooks/stripe"
    serve(host, port, url, current_app.config["STRIPE_WEBHOOK_SECRET"], state_file=state_file)


def init_app(app: Flask) -> None:
    """Attach the command groups."""
    for group in (users_cli, demo_cli, mail_cli, stripe_cli):
        app.cli.add_command(group)
