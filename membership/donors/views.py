"""The statement behind a signed link (a page and its PDF), and the account page's links."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from membership.accounts import sections
from membership.donors import links, printing, statements
from membership.extensions import limiter
from membership.security import private
from membership.timeutil import utcnow

bp = Blueprint("donors", __name__)

# The statement names a donor and their gifts: no search engine, no other site (by Referer).
HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
# Per client: far above what a donor needs, below what would make PDFs (a fraction of a second
# of CPU each) a load.
RATE_LIMIT = "60 per minute"


def _statement(token: str) -> statements.Statement:
    """The statement a link names; 404 for a link the app did not sign."""
    try:
        address, year = links.read_token(token)
    except links.InvalidLink:
        abort(404)
    return statements.build(address, year)


@bp.get(f"{links.PATH}/<token>")
@limiter.limit(RATE_LIMIT)
@private
def statement(token: str):
    """The statement as a printable page."""
    found = _statement(token)
    span = printing.period(found.year)
    page = render_template(
        "donors/statement.html", statement=found, span=span, token=token, issued=utcnow(),
        p=printing,
    )  # fmt: skip
    return page, 200, HEADERS


@bp.get(f"{links.PATH}/<token>.pdf")
@limiter.limit(RATE_LIMIT)
@private
def statement_pdf(token: str):
    """The statement as a PDF, in the page's language."""
    found = _statement(token)
    name = f"statement-{found.year}.pdf"
    return Response(
        printing.render_pdf(found),
        mimetype="application/pdf",
        headers={**HEADERS, "Content-Disposition": f'inline; filename="{name}"'},
    )


def account_section(user) -> dict:
    """The account page's statements: one link per year the reader gave in."""
    years = statements.years_of(user)
    return {
        "statements": [
            (
                year,
                links.statement_url(user.email, year),
                links.statement_url(user.email, year, pdf=True),
            )
            for year in years
        ]
    }


sections.register("donors/_account_statements.html", account_section)
