"""`flask members import | export`: thin wrappers over members.services and members.exporter."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from membership.cli import fail
from membership.extensions import db
from membership.members import exporter, formats, services

members_cli = AppGroup("members", help="Member files: import from Ghost, Substack, Patreon, CSV.")


@members_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(formats.FORMATS),
              help="What exported the file.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would happen; write nothing.")
@click.option("--invite", is_flag=True, help="Mail each new account a sign-in link.")
def import_members(file: Path, fmt: str, dry_run: bool, invite: bool) -> None:
    """Import readers from a member file; running it again changes nothing."""
    try:
        services.check_file(file, fmt)  # the whole file is CSV of that format, or nothing is read
        raw = file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except formats.FileProblem as exc:
        fail(str(exc))
    with raw, click.progressbar(length=file.stat().st_size, label="Rows", file=sys.stderr) as bar:
        try:
            summary = services.import_file(
                raw, fmt, dry_run=dry_run, invite=invite and not dry_run,
                commit=db.session.commit, seen=bar.update,
            )  # fmt: skip
        except formats.FileProblem as exc:
            fail(str(exc))
    if dry_run:
        db.session.rollback()
    for problem in summary.problems:
        label = "error" if problem.action == "error" else "skipped"
        click.echo(f"line {problem.line}: {label}: {problem.email or '-'}: {problem.reason}")
    if len(summary.problems) < summary.counts["error"] + summary.counts["skip"]:
        click.echo(f"(the first {len(summary.problems)} problems are listed)")
    click.echo(summary.line())


@members_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def export_members(file: Path) -> None:
    """Write every reader to FILE in the plain CSV format (- for standard output)."""
    total = exporter.count()
    if str(file) == "-":
        written = exporter.write(sys.stdout)
    else:
        try:
            out = file.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            fail(f"cannot write {file}: {exc.strerror}")
        with out, click.progressbar(length=total, label="Readers", file=sys.stderr) as bar:
            written = exporter.write(out, progress=bar.update)
    db.session.rollback()
    click.echo(f"Exported {written} readers to {file}.", err=str(file) == "-")
