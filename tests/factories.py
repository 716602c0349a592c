"""Test-data helpers that build rows the way the services would."""

from __future__ import annotations

from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.extensions import db
from membership.timeutil import utcnow

PASSWORD = "correct horse battery staple"


def make_user(
    email: str = "reader@example.org",
    password: str = PASSWORD,
    name: str = "Nino",
    role: Role = Role.member,
    verified: bool = True,
    locale: str = "en",
) -> User:
    """Insert and commit a user (call inside an app context)."""
    user = User(
        email=email.casefold(),
        password_hash=hash_password(password),
        name=name,
        role=role,
        locale=locale,
        verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    db.session.commit()
    return user
