"""`flask stripe sync-plans | reconcile | replay | process-pending` and `flask dunning send-due`:
thin wrappers over billing."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select

from membership.billing import dunning, events, reconcile, services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import StripeEvent
from membership.cli import counts_line, dunning_cli, fail, stripe_cli
from membership.extensions import db


def _bar(items, label):
    """A click progress bar over a list, or a running count over a stream read as it goes."""
    with click.progressbar(items, label=f"{label:<14}", show_pos=True) as bar:
        yield from bar


@stripe_cli.command("sync-plans")
def sync_plans() -> None:
    """Create or update products and prices in Stripe by lookup key (twice creates nothing)."""
    try:
        result = services.sync_plans(progress=lambda plans: _bar(plans, "Plans"))
    except gateway.PaymentProviderError as exc:
        fail(f"Stripe refused: {exc}")
    db.session.commit()
    click.echo(
        f"Plans synced: {result.products_created} products created, "
        f"{result.prices_created} prices created, {result.prices_linked} prices linked."
    )


@stripe_cli.command("reconcile")
@click.option("--since", default=None, help="Only objects created since this date (YYYY-MM-DD).")
def reconcile_command(since: str | None) -> None:
    """Re-read checkouts, subscriptions, invoices, refunds and disputes from Stripe; mend local
    state, committing page by page; compare fees with Stripe's balance transactions."""
    start = None
    if since:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            fail(f"--since must be a date such as 2026-01-31, not {since!r}")
    report = reconcile.Report()
    try:
        reconcile.reconcile(db.session.commit, start, progress=_bar, report=report)
    except gateway.PaymentProviderError as exc:
        db.session.rollback()  # the unfinished page only: every finished one is committed
        reconcile.record(report, start, interrupted=str(exc))
        db.session.commit()
        for line in report.differences:
            click.echo(f"mended: {line}")
        fail(
            f"Stripe refused: {exc}. The {len(report.differences)} differences mended before "
            "are kept; run it again to finish."
        )
    db.session.commit()
    for line in report.differences:
        click.echo(f"mended: {line}")
    for line in report.fee_differences:
        click.echo(f"fee differs: {line}")
    click.echo(report.summary())


@stripe_cli.command("replay")
@click.argument("event_id")
def replay(event_id: str) -> None:
    """Process an event again (stored here, or fetched from Stripe); handlers are idempotent."""
    if not event_id.startswith("evt_") or len(event_id) > 255:
        fail("EVENT_ID looks like evt_…")
    stored = db.session.scalar(select(StripeEvent).where(StripeEvent.id == event_id))
    if stored is None:
        try:
            payload = gateway.retrieve_event(event_id)
        except gateway.PaymentProviderError as exc:
            fail(f"Stripe does not know {event_id}: {exc}")
        stored = events.store(payload)
    outcome = events.process(stored)
    db.session.commit()
    if outcome.status == "failed":
        fail(f"{event_id} failed again: {stored.error}")
    click.echo(f"{event_id} ({stored.type}): {outcome.status}.")


@stripe_cli.command("process-pending")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    type=click.IntRange(0, 86400 * 30),
    help="Only events received at least this many seconds ago.",
)
def process_pending(older_than: int) -> None:
    """Run stored events no worker has run (received a while ago) or that failed, here and now."""

    waiting = events.waiting(timedelta(seconds=older_than))
    counts: dict[str, int] = {}
    for event_id in _bar(waiting, "Events"):
        outcome = events.process_now(event_id)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    done = counts_line(counts, "nothing to do")
    click.echo(f"Processed {len(waiting)} waiting events: {done}.")
    if counts.get("failed"):
        sys.exit(1)


@dunning_cli.command("send-due")
def dunning_send_due() -> None:
    """Send the payment-recovery mails that are due (reminders, last notices); for cron when no
    `flask worker` runs. Safe beside workers and other runs: each mail goes out once."""
    counts = dunning.send_due()
    waiting = counts.pop("waiting", 0)
    click.echo(f"Payment recovery mails: {counts_line(counts, 'none due')}.")
    if waiting:
        fail(f"Stripe could not be reached; {waiting} members' notices wait for the next run.")
