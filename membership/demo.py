"""Demo data for `make run` and `flask demo seed`: each domain adds its part to SEEDERS."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import click
from sqlalchemy import select

from membership.access import demo as access_demo
from membership.accounts import services as accounts
from membership.accounts.models import Role, User
from membership.billing import demo as billing_demo
from membership.extensions import db

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


def seed_members(summary: Summary, members: int, echo: Callable[[str], None]) -> None:
    """`members` verified demo readers (who cannot sign in), with a progress bar."""
    if members == 0:
        return
    from membership.accounts.passwords import hash_password
    from membership.timeutil import utcnow

    shared_hash = hash_password(secrets.token_urlsafe(16))
    start = db.session.scalar(select(db.func.count(User.id))) or 0
    with click.progressbar(range(members), label="Members") as bar:
        for i in bar:
            n = start + i + 1
            db.session.add(
                User(
                    email=f"reader{n}@example.org",
                    name=f"Reader {n}",
                    password_hash=shared_hash,
                    role=Role.member,
                    verified_at=utcnow(),
                )
            )
            if i % 1000 == 999:
                db.session.flush()
    summary.parts.append(f"{members} members")


# Run in order; each takes (summary, members, echo) and flushes, never commits.
SEEDERS: list[Callable[[Summary, int, Callable[[str], None]], None]] = [
    seed_staff,
    billing_demo.seed_catalogue,
    seed_members,
    billing_demo.seed_paying_member,
]
SEEDERS.append(access_demo.seed_access)  # article-access rules


def seed(members: int = 0, echo: Callable[[str], None] = print) -> Summary:
    """Run every seeder; the caller commits."""
    summary = Summary()
    for seeder in SEEDERS:
        seeder(summary, members, echo)
    return summary
