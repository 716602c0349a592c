"""Demo data for accounts: a reader who joined by e-mail alone and signs in by mailed link."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from membership.accounts.models import Role, User
from membership.accounts.services import UNUSABLE_PASSWORD
from membership.extensions import db
from membership.timeutil import utcnow

EMAIL_ONLY_READER = "lela@example.org"


def seed_email_only_reader(summary, members: int, echo: Callable[[str], None]) -> None:
    """A verified reader without a password: only "Send me a sign-in link" opens the account."""
    if db.session.scalar(select(User.id).where(User.email == EMAIL_ONLY_READER)) is not None:
        return
    db.session.add(
        User(
            email=EMAIL_ONLY_READER,
            password_hash=UNUSABLE_PASSWORD,
            name="Lela",
            locale="ka",
            role=Role.member,
            verified_at=utcnow(),
        )
    )
    db.session.flush()
    summary.parts.append("1 reader without a password")
    summary.secrets.append(
        f"Reader without a password: {EMAIL_ONLY_READER} (on /login, 'Send me a sign-in link'; "
        "the link and code arrive in instance/outbox/)"
    )
