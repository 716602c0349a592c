"""`flask donors statements --year YYYY`: every donor of that year gets their statement, once."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from membership.cli import fail
from membership.donors import links, mailing, statements
from membership.extensions import db
from membership.timeutil import utcnow

donors_cli = AppGroup("donors", help="Donors: their yearly statements.")
BATCH = 100  # statements per commit: each commit hands its mails on (membership/mail.py)


@donors_cli.command("statements")
@click.option("--year", type=int, required=True, help="The calendar year (UTC), e.g. 2026.")
def send_statements(year: int) -> None:
    """Mail each donor of YEAR their statement (a page and a PDF behind a signed link), once."""
    now = utcnow()
    if not links.FIRST_YEAR <= year <= now.year:
        fail(f"--year must be between {links.FIRST_YEAR} and {now.year}")
    running = year == now.year
    if running:
        click.secho(
            f"{year} is not over yet: each donor gets a statement so far (once); the final "
            "statements go out when you run this again in January.",
            fg="yellow",
        )
    addresses = statements.donors_of(year)
    mailed = 0
    with click.progressbar(addresses, label=f"Statements {year}", show_pos=True) as bar:
        for number, address in enumerate(bar, start=1):
            mailed += mailing.queue_statement(address, year, now)
            if number % BATCH == 0:
                db.session.commit()
    db.session.commit()
    before = len(addresses) - mailed
    click.echo(
        f"Statements {year}{' so far' if running else ''}: {mailed} mailed, "
        f"{before} mailed before, {len(addresses)} donor{'' if len(addresses) == 1 else 's'}."
    )
