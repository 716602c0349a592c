"""An outlet statement as PDF, laid out by the shared writer (membership/documents/pdf.py), in
the language of the request or command that asks for it."""

from __future__ import annotations

from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from membership.documents import pdf
from membership.host.statements import Statement
from membership.money import format_money
from membership.timeutil import utcnow


def document(st: Statement) -> pdf.Document:
    """The statement's PDF document: host and newsroom blocks, a table per currency, grants."""
    host = st.host
    issuer = [host.legal_name]
    issuer += [line for line in host.address.splitlines() if line.strip()]
    if host.country:
        issuer.append(host.country)
    if host.registration_number:
        issuer.append(_("Registration number") + ": " + host.registration_number)
    if host.contact:
        issuer.append(host.contact)
    outlet = [st.outlet.name, st.campaign.title]
    tables = []
    for lines in st.lines:
        cur = lines.currency

        def money(value: int, currency: str = cur) -> str:
            return format_money(value, currency)

        rows = [
            [_("Opening balance"), money(lines.opening)],
            [_("Gifts"), money(lines.gifts)],
            [_("Refunds and lost disputes"), money(lines.refunds)],
            [_("Stripe fees"), money(-lines.fees)],
            [_("Host fee"), money(-lines.host_fee)],
            [_("Grants paid"), money(-lines.grants)],
        ]
        tables.append(pdf.Table(
            columns=[pdf.Column(_("Line"), 3), pdf.Column(_("Amount"), 1.4, "R")],
            rows=rows, title=_("In %(currency)s", currency=cur.upper()),
            totals=[[_("Closing balance (owed to the newsroom)"), money(lines.closing)]],
        ))  # fmt: skip
    grants = [
        [format_date(g.paid_on, "medium") + (" · " + _("reversal") if g.reverses_id else ""),
         g.bank_reference or "—", format_money(g.amount, g.currency),
         format_money(g.paid_amount, g.paid_currency) if g.paid_amount else "—"]
        for g in st.grants
    ]  # fmt: skip
    tables.append(pdf.Table(
        columns=[pdf.Column(_("Paid on"), 1.3), pdf.Column(_("Bank reference"), 1.6),
                 pdf.Column(_("Amount"), 1.2, "R"), pdf.Column(_("Paid out"), 1.2, "R")],
        rows=grants, title=_("Grants in this period"),
        empty=_("No grants were paid in this period."),
    ))  # fmt: skip
    subtitle = _("%(campaign)s · %(start)s to %(end)s", campaign=st.campaign.title,
                 start=format_date(st.period.start, "long"),
                 end=format_date(st.period.last_day, "long"))  # fmt: skip
    return pdf.Document(
        title=_("Statement for %(outlet)s", outlet=st.outlet.name),
        subtitle=subtitle,
        blocks=[pdf.Block(issuer, _("Fiscal host")), pdf.Block(outlet, _("Newsroom"))],
        tables=tables,
        notes=[_("Gifts are counted gross, as donors gave them. Stripe's fees are shared like "
                 "the gifts they were charged on; the host fee is the host's rate on the gross, "
                 "shared in proportion to each newsroom's gifts. Amounts are exact to the cent.")],
        footer=f"{host.legal_name} · {st.outlet.name} · {st.period.label}",
        language=str(get_locale() or "en"),
        author=host.legal_name,
        created_at=utcnow(),
    )  # fmt: skip


def render(st: Statement) -> bytes:
    """The statement as PDF bytes."""
    return pdf.render(document(st))
