"""The `flask` sub-commands: thin wrappers over services."""

from __future__ import annotations

import logging
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from membership import mail
from membership.accounts import services as accounts
from membership.extensions import db

log = logging.getLogger(__name__)

users_cli = AppGroup("users", help="Accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
mail_cli = AppGroup("mail", help="Outgoing mail.")
stripe_cli = AppGroup("stripe", help="Stripe: sandbox, catalogue sync, reconciliation.")
dunning_cli = AppGroup("dunning", help="Payment recovery: the reminders of failed renewals.")


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
    """Load demo data: catalogue, fundraiser, a staff account (password printed once), members."""
    if members < 0 or members > 1_000_000:
        fail("--members must be between 0 and 1,000,000")
    from membership import demo

    if once and demo.already_seeded():
        click.echo("Demo data already loaded; nothing to do.")
        return
    summary = demo.seed(members=members, echo=click.echo)
    db.session.commit()
    for line in summary.secrets:
        click.secho(line, fg="green")
    click.echo("Demo data loaded: " + ", ".join(summary.parts) + ".")


@mail_cli.command("send-pending")
def send_pending() -> None:
    """Retry mails that are pending or failed."""
    count = mail.send_pending()
    click.echo(f"Sent {count} mails.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when nothing is left to do.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run queued Stripe events (WEBHOOK_PROCESSING=queued) and send due and queued mail."""
    from membership import worker as loops
    from membership.billing import events

    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if burst:
        counts = events.run_due()
        click.echo(f"Stripe events: {counts_line(counts, 'none due')}.")
        from membership.billing import dunning

        click.echo(f"Payment recovery mails: {counts_line(dunning.send_due(), 'none due')}.")
        mail.sweep()
        if url:
            loops.rq_mail(app, url, threading.Event(), burst=True)
        return
    if db.engine.dialect.name == "postgresql":
        waits = "woken by PostgreSQL's NOTIFY"
    else:
        waits = f"polling every {float(app.config.get('WORKER_POLL_SECONDS') or 0.2):g} s"
    queue = ", and the mail queue on Redis" if url else ""
    click.echo(f"Running Stripe events ({waits}), payment recovery mails, due mail{queue}.")
    loops.run(app)


def counts_line(counts: dict[str, int], empty: str) -> str:
    """ "1 failed, 3 processed" for a summary line, or `empty`."""
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or empty


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
    from membership import members
    from membership.billing import cli as billing_cli  # noqa: F401 - adds the stripe commands

    for group in (users_cli, demo_cli, mail_cli, stripe_cli, dunning_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker)
    members.init_app(app)  # flask members import | export
