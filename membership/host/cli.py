"""`flask host statements --period YYYY-MM`: every outlet's statement for a month, as files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from membership.host import documents, statements


@click.group("host")
def host_cli() -> None:
    """The fiscal host: outlets' statements."""


@host_cli.command("statements")
@click.option("--period", required=True, help="The month, such as 2026-11 (UTC).")
@click.option("--out", "out", default=None,
              help="Directory (default: instance/statements/host/<period>).")  # fmt: skip
@with_appcontext
def statements_command(period: str, out: str | None) -> None:
    """Write each outlet's statement for the month: HTML, CSV and PDF (when the PDF writer is
    installed); one line per file is not printed, only a bar and a summary."""
    try:
        month = statements.Period.parse(period)
    except statements.PeriodError:
        raise click.UsageError(f"--period must be a month such as 2026-11, not {period!r}")  # noqa: B904
    directory = Path(out) if out else Path(current_app.instance_path, "statements", "host",
                                                month.label)  # fmt: skip

    def bar(items):
        with click.progressbar(items, label="Statements", show_pos=True) as shown:
            yield from shown

    written = documents.write_all(month, directory, progress=bar)
    outlets = len({p.stem for p in written})
    kinds = "HTML, CSV and PDF" if documents.pdf_available() else "HTML and CSV (no PDF writer)"
    click.echo(f"Wrote {outlets} statements for {month.label} ({kinds}) to {directory}")
