"""Accounts: readers, staff and admins."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a person may do here; each role includes the ones before it."""

    member = "member"
    staff = "staff"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Order of privilege, for `at least staff` checks."""
        return list(Role).index(self)


def new_session_token() -> str:
    """A random value that identifies the login; a new one logs every device out."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A person with an account: e-mail is stored case-folded and is unique."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, validate_strings=True), default=Role.member
    )
    email_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Flask-Login's id: replaced on password change or logout-everywhere.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    # Bumped by each reset request and by each reset: only the newest link works, once.
    reset_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def get_id(self) -> str:
        """Flask-Login identity: the session token, so that rotating it ends old sessions."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        """Deleted (anonymised) accounts cannot sign in."""
        return self.deleted_at is None

    @property
    def has_password(self) -> bool:
        """Whether a password opens the account: readers who joined by e-mail have none until
        they set one ("!" marks it, as for deleted accounts: no argon2 hash starts so)."""
        return not self.password_hash.startswith("!")

    @property
    def is_verified(self) -> bool:
        """Whether the reader proved the e-mail address."""
        return self.verified_at is not None

    def has_role(self, role: Role) -> bool:
        """True when this person's role is `role` or above."""
        return self.role.rank >= role.rank

    @property
    def is_staff(self) -> bool:
        """Staff or admin."""
        return self.has_role(Role.staff)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class SignInRequest(db.Model):
    """One "send me a sign-in link" request: a single-use link and a 6-digit code, mailed
    together; only their hashes are kept. Using either one uses the request up."""

    __tablename__ = "sign_in_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address asked for, normalised; no account may have it yet (joining by e-mail).
    email: Mapped[str] = mapped_column(String(254), index=True)
    # The account the address had when the request was made; None: the link creates one.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_url: Mapped[str | None] = mapped_column(String(2000))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
