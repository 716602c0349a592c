"""Statement documents: a standalone HTML page, CSV and (when the shared PDF writer is
installed) PDF, and `host statements --period` writing them all."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import current_app, render_template

from membership.host import statements


def file_name(st: statements.Statement) -> str:
    """statement-<campaign>-<outlet>-<period>, safe for a file system and a header."""
    return f"statement-{st.campaign.slug}-{st.outlet.slug}-{st.period.label}"


def to_html(st: statements.Statement) -> str:
    """The statement as one standalone, printable HTML page (its styles inline)."""
    css = Path(current_app.static_folder, "css", "host.css").read_text(encoding="utf-8")
    return render_template("host/statement_document.html", st=st, host_css=css)


def pdf_available() -> bool:
    """Whether the shared PDF writer (membership/documents/pdf.py) is installed."""
    return _has_package() and importlib.util.find_spec("membership.documents.pdf") is not None


def _has_package() -> bool:
    """Whether membership.documents exists at all."""
    return importlib.util.find_spec("membership.documents") is not None


def to_pdf(st: statements.Statement) -> bytes | None:
    """The statement as PDF, or None without the shared PDF writer."""
    if not pdf_available():
        return None
    from membership.host import statement_pdf

    return statement_pdf.render(st)


def write_all(period: statements.Period, directory: Path, progress=None) -> list[Path]:
    """Write every outlet's statement for the period (HTML, CSV, PDF when available) into
    `directory`; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    items = statements.all_statements(period)
    for st in progress(items) if progress else items:
        base = directory / file_name(st)
        base.with_suffix(".html").write_text(to_html(st), encoding="utf-8")
        base.with_suffix(".csv").write_text(statements.to_csv(st), encoding="utf-8")
        written += [base.with_suffix(".html"), base.with_suffix(".csv")]
        pdf = to_pdf(st)
        if pdf is not None:
            base.with_suffix(".pdf").write_bytes(pdf)
            written.append(base.with_suffix(".pdf"))
    return written
