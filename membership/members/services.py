"""Member import and export as the command and the staff pages call them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from membership import audit
from membership.accounts import signin_links
from membership.accounts.models import User
from membership.members import files, formats, importer
from membership.members.importer import Outcome, Summary


def check_file(path: Path, fmt: str) -> None:
    """Read the whole file as `fmt` without the database; raises formats.FileProblem when its
    header is not the format's, or it is not UTF-8 CSV."""
    empty = formats.Catalogue(perks={}, plans={}, default=())
    with path.open("rb") as raw, files.text(raw) as stream:
        reader = formats.open_reader(stream, fmt, empty, ())
        for _ in reader.records:
            pass


def import_file(
    raw: BinaryIO,
    fmt: str,
    *,
    dry_run: bool,
    commit: Callable[[], None],
    invite: bool = False,
    actor_id: int | None = None,
    on_row: Callable[[Outcome], None] | None = None,
    seen: Callable[[int], None] | None = None,
) -> Summary:
    """Import a member file (binary, UTF-8 CSV) of format `fmt`, committing after each batch;
    the run itself is audited (as `members.imported`) in the last batch's transaction.
    Raises formats.FileProblem when the file is not one of that format."""
    cat = importer.catalogue()
    languages = tuple(current_app.config["LANGUAGES"])
    with files.text(raw, seen) as stream:
        reader = formats.open_reader(stream, fmt, cat, languages)
        summary = importer.run(
            reader, fmt, cat, dry_run=dry_run, commit=commit, actor_id=actor_id,
            invite=send_invitation if invite else None, on_row=on_row,
        )  # fmt: skip
    if not dry_run:
        audit.record(
            "members.imported", "import", fmt, actor_id=actor_id,
            counts=dict(summary.counts), invited=summary.invited,
        )  # fmt: skip
        commit()
    return summary


def send_invitation(user: User) -> None:
    """Queue a sign-in link and code for a new imported reader, in their language."""
    signin_links.send_sign_in_link(user)
