"""The yearly statement mail: one per donor and year, its link signed, sent once.

"Sent once" is the mail's dedupe key (mail_jobs.dedupe_key is unique): a second run of the
command, or two at once, queue nothing for a donor who has theirs. While the year still runs
the mail is a statement "so far", under a key of its own, so the final one still goes out in
January.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from membership.donors import links, printing, statements
from membership.mail import date, money, queue_mail


def dedupe_key(address: str, year: int, running: bool) -> str:
    """The statement mail's key: the year, whether final, and a digest of the address (the
    address itself may be longer than the key's column)."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"donor-statement-{year}{'-so-far' if running else ''}-{digest}"


def queue_statement(address: str, year: int, now: datetime) -> bool:
    """Queue `address`'s statement mail for `year`; False when there is nothing to send (no
    money moved that year) or it was queued before."""
    statement = statements.build(address, year)
    if statement.empty:
        return False
    span = printing.period(year, now)
    lang = statement.locale
    context = {
        "name": statement.name or statements.public_name_of(address),
        "year": year,
        "statement_url": links.statement_url(address, year) + f"?lang={lang}",
        "pdf_url": links.statement_url(address, year, pdf=True) + f"?lang={lang}",
        "gifts": len(statement.gifts),
        "totals": [
            {
                "given": money(total.given, total.currency),
                "returned": money(total.returned, total.currency),
                "net": money(total.net, total.currency),
                "currency": total.currency.upper(),
                "any_returned": total.returned != 0,
            }
            for total in statement.totals
        ],
        "running": span.running,
        "up_to": date(datetime.combine(span.end, datetime.min.time())),
        "host": statement.hosts[0].name,
    }
    job = queue_mail(
        "donor_statement",
        address,
        context,
        locale=lang,
        dedupe_key=dedupe_key(address, year, span.running),
    )
    return job is not None
