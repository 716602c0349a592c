"""Demo data for `make run` and `flask demo seed`: each domain adds its part to SEEDERS."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from membership.access import demo as access_demo
from membership.accounts import demo as accounts_demo
from membership.accounts import services as accounts
from membership.accounts.models import User
from membership.admin import demo as admin_demo
from membership.billing import cancel_demo
from membership.billing import demo as billing_demo
from membership.donors import demo as donors_demo
from membership.extensions import db
from membership.fundraisers import demo as fundraiser_demo
from membership.host import demo as host_demo
from membership.members import demo as members_demo

DEMO_STAFF_EMAIL = "staff@example.org"


@dataclass
class Summary:
    """What a seed run did: parts of the one-line summary, and lines to show once."""

    parts: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


def already_seeded() -> bool:
    """Demo data is loaded when the demo staff account exists."""
    return db.session.scalar(select(User.id).where(User.email == DEMO_STAFF_EMAIL)) is not None


def seed_staff(summary: Summary, members: int, echo: Callable[[str], None]) -> None:
    """The demo admin, whose random password is shown once."""
    if already_seeded():
        return
    password = secrets.token_urlsafe(12)
    accounts.create_staff(DEMO_STAFF_EMAIL, password, name="Demo Staff", admin=True)
    summary.parts.append("1 staff account")
    summary.secrets.append(f"Staff sign-in: {DEMO_STAFF_EMAIL} / {password}  (shown once; keep it)")


# Run in order; each takes (summary, members, echo) and flushes, never commits.
SEEDERS: list[Callable[[Summary, int, Callable[[str], None]], None]] = [
    seed_staff,
    billing_demo.seed_catalogue,
    admin_demo.seed_volume,  # members with 24 months of memberships, payments and gifts
    billing_demo.seed_paying_member,
    billing_demo.seed_member_in_grace,  # a failed renewal: the banner, the recovery mails
    accounts_demo.seed_email_only_reader,  # signs in by e-mailed link and code only
]
SEEDERS.append(cancel_demo.seed_cancellation_reasons)  # the cancel page's reasons, by month
SEEDERS.append(cancel_demo.seed_paused_member)  # a member who paused instead of cancelling
SEEDERS.append(access_demo.seed_access)  # article-access rules
SEEDERS.append(fundraiser_demo.seed_fundraiser)  # the live collective fundraiser
SEEDERS.append(donors_demo.seed_statement_donor)  # a donor with gifts, a refund, a statement
SEEDERS.append(members_demo.seed_imported)  # readers imported from Ghost and Substack
SEEDERS.append(host_demo.seed_host)  # its fiscal host: fees, grants, a newsroom's staff


def seed(members: int = 0, echo: Callable[[str], None] = print) -> Summary:
    """Run every seeder; the caller commits."""
    summary = Summary()
    for seeder in SEEDERS:
        seeder(summary, members, echo)
    return summary
