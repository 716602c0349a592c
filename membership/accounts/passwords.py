"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps a hash from being a DoS
# zxcvbn score below this means "guessable within a million tries": a common password.
MIN_SCORE = 2


def _hasher() -> PasswordHasher:
    """An argon2id hasher with the app's cost settings."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"]
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash without raising."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker settings than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Spend the time of one verification, so unknown accounts answer as slowly as known ones."""
    verify_password(_dummy_hash(), password)


def _dummy_hash() -> str:
    """A hash made once per process with the current settings."""
    cached = current_app.extensions.get("membership.dummy_hash")
    if cached is None:
        cached = hash_password("not-a-real-password-just-for-timing")
        current_app.extensions["membership.dummy_hash"] = cached
    return cached


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Every rule the password breaks, as messages for the reader; empty when it is fine."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Use at least %(n)d characters.", n=MIN_LENGTH))
        return problems
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(n)d characters.", n=MAX_LENGTH))
        return problems
    folded = password.casefold()
    if email and (folded == email.casefold() or folded == email.split("@")[0].casefold()):
        problems.append(_("Your password must not be your e-mail address."))
        return problems
    inputs = [part for part in (email, email.split("@")[0], name) if part]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_SCORE:
        problems.append(_("This password is too common or too easy to guess."))
    return problems
