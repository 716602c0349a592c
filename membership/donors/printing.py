"""A statement as people read it: its words, amounts and dates in the current language, for the
page and the PDF (membership/documents/pdf.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from membership.documents import pdf
from membership.donors.host_details import Host
from membership.donors.statements import Line, Statement
from membership.ledger.models import EntryKind
from membership.money import format_money
from membership.timeutil import utcnow


@dataclass(frozen=True)
class Period:
    """The statement's dates: from 1 January to 31 December, or to today while the year runs."""

    start: date
    end: date
    running: bool  # the year is not over: more gifts may follow


def period(year: int, now: datetime | None = None) -> Period:
    """The period a statement of `year` covers, seen on `now` (UTC)."""
    today = (now or utcnow()).date()
    end = date(year, 12, 31)
    if today <= end:  # 31 December is not over either
        return Period(date(year, 1, 1), max(today, date(year, 1, 1)), True)
    return Period(date(year, 1, 1), end, False)


def kind_label(line: Line) -> str:
    """What a row is: a gift, a monthly payment, a bank transfer, a refund, a lost dispute."""
    if line.kind == EntryKind.refund:
        return _("Refunded")
    if line.kind == EntryKind.dispute:
        return _("Card dispute (returned)")
    if line.kind == EntryKind.offline:
        return _("Bank transfer or cash")
    if line.monthly:
        return _("Monthly gift")
    return _("One-time gift")


def outlet_label(line: Line) -> str:
    """Whom the gift is for: one newsroom, or all the campaign's, shared equally."""
    return line.outlet or _("All newsrooms, shared equally")


def day(value: datetime | date, fmt: str = "long") -> str:
    """A date in the current language ("March 3, 2026"; "Mar 3, 2026" when `fmt` is medium)."""
    return format_date(value, fmt)


def money(minor: int, currency: str) -> str:
    """An amount in the current language."""
    return format_money(minor, currency)


def title(statement: Statement) -> str:
    """The document's title."""
    return _("Statement of gifts %(year)s", year=str(statement.year))


def span_text(span: Period) -> str:
    """ "1 January 2026 to 31 December 2026"."""
    return _("%(start)s to %(end)s", start=day(span.start), end=day(span.end))


def host_lines(host: Host) -> list[str]:
    """A host's legal details, one per line."""
    lines = [host.name, *host.address.splitlines()]
    if host.registration:
        lines.append(_("Registration number: %(number)s", number=host.registration))
    return [line for line in lines if line.strip()]


def notes(statement: Statement, span: Period) -> list[str]:
    """The fine print under the tables."""
    lines = [
        _(
            "Amounts are in the currency of each gift. A refund or a card dispute lost counts "
            "in the year it was made, and is deducted from that year's total."
        )
    ]
    if span.running:
        lines.insert(0, _("The year is not over yet: this statement shows the gifts up to "
                          "%(date)s.", date=day(span.end)))  # fmt: skip
    return lines


def _table_rows(lines: list[Line]) -> list[tuple[str, ...]]:
    """A table's rows as the PDF shows them."""
    return [
        (day(line.occurred_at, "medium"), kind_label(line), line.campaign, outlet_label(line),
         line.receipt, money(line.amount, line.currency))
        for line in lines
    ]  # fmt: skip


def document(statement: Statement, now: datetime | None = None) -> pdf.Document:
    """The statement as a pdf.Document in the current language."""
    span = period(statement.year, now)
    columns = (
        pdf.Column(_("Date"), 2.1),
        pdf.Column(_("What"), 2.8),
        pdf.Column(_("Fundraiser"), 2.3),
        pdf.Column(_("For"), 3.1),
        pdf.Column(_("Receipt"), 1.9),
        pdf.Column(_("Amount"), 2.0, "R"),
    )
    donor = [statement.name, statement.address] if statement.name else [statement.address]
    blocks = [
        pdf.Block(host_lines(statement.hosts[0]), _("Received by")),
        pdf.Block(donor, _("Donor")),
        pdf.Block([day(now or utcnow())], _("Issued on")),
    ]
    gifts = _table_rows(statement.gifts)
    tables = [pdf.Table(columns, gifts, title=_("Gifts"), empty=_("No gifts in this year."))]
    if statement.reversals:
        tables.append(pdf.Table(columns, _table_rows(statement.reversals),
                                title=_("Refunds and card disputes")))  # fmt: skip
    tables.append(
        pdf.Table(
            (pdf.Column(_("Currency"), 2), pdf.Column(_("Given"), 2, "R"),
             pdf.Column(_("Given back"), 2, "R"), pdf.Column(_("Total"), 2, "R", strong=True)),
            [(total.currency.upper(), money(total.given, total.currency),
              money(-total.returned, total.currency), money(total.net, total.currency))
             for total in statement.totals],
            title=_("Totals"),
            empty=_("Nothing to total."),
        )
    )  # fmt: skip
    fine_print = notes(statement, span)
    for other in statement.hosts[1:]:
        fine_print.append(_("Also received by: %(host)s", host=", ".join(host_lines(other))))
    host = statement.hosts[0]
    footer = host.name
    if host.registration:
        footer += " · " + _("Registration number: %(number)s", number=host.registration)
    return pdf.Document(
        title=title(statement),
        subtitle=span_text(span),
        blocks=blocks,
        tables=tables,
        notes=fine_print,
        footer=footer,
        language=str(get_locale()),
        author=host.name,
        created_at=now or utcnow(),
    )


def render_pdf(statement: Statement) -> bytes:
    """The statement's PDF, in the current language."""
    return pdf.render(document(statement))
