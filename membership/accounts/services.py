"""Account operations. They flush, never commit: the view or command around them commits once."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, or_, select

from membership import audit
from membership.accounts import passwords, tokens
from membership.accounts.models import Role, SignInRequest, User, new_session_token
from membership.extensions import db
from membership.mail import queue_mail
from membership.timeutil import utcnow

MAX_ADDRESS = 254  # what an address may be long (RFC 5321), and the column
UNUSABLE_PASSWORD = "!"  # noqa: S105 - not a hash: verify() fails on it, so nothing signs in  # nosec B105


class AccountError(Exception):
    """A reader's request that cannot be done; the message is safe to show."""


class WrongPassword(AccountError):
    """The current password given to confirm an action is not the account's."""


class SameEmail(AccountError):
    """The new address is the one the account has already."""


def normalize_email(raw: str) -> str:
    """Validate and case-fold an e-mail address; raises AccountError when it is not one."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from exc
    return result.normalized.casefold()


def address_key(raw: str) -> str:
    """What limits per account key on: the address as the lookup normalises it, then folded
    further (NFKC, case), so that every spelling find_by_email() maps to one account shares a
    key (look-alikes it keeps apart may share one too: a limit can only be coarser)."""
    text = raw.strip()[:MAX_ADDRESS]
    try:
        normalized = normalize_email(text)
    except AccountError:  # not an address: no account, but still one key per spelling family
        normalized = text
    return unicodedata.normalize("NFKC", normalized).casefold()


def find_by_email(email: str) -> User | None:
    """The live account with this address, whatever its case."""
    try:
        normalized = normalize_email(email)
    except AccountError:
        return None
    return db.session.scalar(
        select(User).where(User.email == normalized, User.deleted_at.is_(None))
    )


def link(path: str) -> str:
    """An absolute link on this site for e-mails."""
    return current_app.config["BASE_URL"] + path


@dataclass
class Registration:
    """What register() did: a new account, or none because the address has one."""

    user: User
    created: bool


def register(
    email: str, password: str, name: str, locale: str = "en", email_consent: bool = False
) -> Registration:
    """Create an account unless the address has one; the same work either way (rules, one
    hash, one audit entry), so the time taken does not say which. The mail is
    notify_registration()'s, after the answer."""
    normalized = normalize_email(email)
    problems = passwords.password_problems(password, normalized, name)
    if problems:
        raise AccountError(" ".join(problems))
    password_hash = passwords.hash_password(password)
    existing = db.session.scalar(select(User).where(User.email == normalized))
    if existing is not None:
        audit.record("account.registration_refused", "user", existing.id)
        return Registration(existing, created=False)
    user = User(
        email=normalized,
        password_hash=password_hash,
        name=name.strip(),
        locale=locale,
        email_consent=email_consent,
        role=Role.member,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.registered", "user", user.id, actor_id=user.id)
    return Registration(user, created=True)


def notify_registration(user_id: int, created: bool) -> None:
    """The mail a registration sends: the verification link to a new account, or to an existing
    account's owner a note that someone tried their address, at most once an hour."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return
    if created:
        send_verification(user)
        return
    queue_mail(
        "account_exists",
        user.email,
        {"name": user.name, "reset_url": link("/reset-password")},
        locale=user.locale,
        dedupe_key=f"account-exists:{user.id}:{utcnow():%Y-%m-%dT%H}",
    )


def _mail_link(user: User, template: str, purpose: str, payload: dict, path: str, to: str = ""):
    """Queue a mail carrying a signed link for `purpose` (to the account's address by default)."""
    token = tokens.make_token(purpose, payload)
    queue_mail(
        template,
        to or user.email,
        {"name": user.name, "url": link(f"{path}/{token}")},
        locale=user.locale,
    )


def _user_of(purpose: str, token: str) -> tuple[User | None, dict[str, Any]]:
    """The live account a signed link names (or None), and the link's payload."""
    payload = tokens.read_token(purpose, token)
    user = db.session.get(User, payload.get("u"))
    return (user if user is not None and user.is_active else None), payload


def send_verification(user: User) -> None:
    """Queue the mail with a link that proves the reader owns the address."""
    payload = {"u": user.id, "e": user.email}
    _mail_link(user, "verify_email", tokens.VERIFY, payload, "/verify-email")


def verify_email(token: str) -> User:
    """Mark the address proven; the link fails once the address has changed."""
    user, payload = _user_of(tokens.VERIFY, token)
    if user is None or user.email != payload.get("e"):
        raise tokens.InvalidToken("no such account or address changed")
    if user.verified_at is None:
        user.verified_at = utcnow()
        audit.record("account.verified", "user", user.id, actor_id=user.id)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The account these credentials open, or None; as slow for unknown addresses as for known."""
    user = find_by_email(email)
    if user is None or not user.has_password:  # joined by e-mail: no password opens it
        passwords.burn_time(password)
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    return user


def sign_out(user: User) -> None:
    """End the account's sessions on the server: the session and remember-me cookies carry the
    session token as their id, so a new one makes every copy of them worthless."""
    user.session_token = new_session_token()
    audit.record("account.signed_out", "user", user.id, actor_id=user.id)


def request_password_reset(email: str) -> None:
    """Mail a reset link when the account exists; say nothing either way (views run this after
    the answer is sent, so the answer takes as long either way)."""
    user = find_by_email(email)
    if user is None:
        return
    user.reset_generation += 1  # supersedes every earlier link
    payload = {"u": user.id, "g": user.reset_generation}
    _mail_link(user, "reset_password", tokens.RESET, payload, "/reset-password")


def user_for_reset(token: str) -> User:
    """The account a reset link is for; raises InvalidToken when used, superseded or expired."""
    user, payload = _user_of(tokens.RESET, token)
    if user is None or user.reset_generation != payload.get("g"):
        raise tokens.InvalidToken("used or superseded")
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link, which then stops working."""
    user = user_for_reset(token)
    _set_password(user, new_password)
    # Receiving the link proves the address.
    user.verified_at = user.verified_at or utcnow()
    audit.record("account.password_reset", "user", user.id, actor_id=user.id)
    return user


def change_password(user: User, current: str, new_password: str) -> None:
    """Change the password after checking the current one (a reader who has none sets a first
    one, `current` unused); other sessions end."""
    had_password = user.has_password
    if had_password and not passwords.verify_password(user.password_hash, current):
        raise WrongPassword()
    _set_password(user, new_password)
    action = "account.password_changed" if had_password else "account.password_set"
    audit.record(action, "user", user.id, actor_id=user.id)


def confirms(user: User, password: str) -> bool:
    """Whether `password` confirms an action of the signed-in reader: their password, or
    nothing for a reader without one (their session, from a mailed link, is all they have)."""
    return not user.has_password or passwords.verify_password(user.password_hash, password)


def _set_password(user: User, new_password: str) -> None:
    """Hash and store a new password, end old sessions and links, tell the owner."""
    problems = passwords.password_problems(new_password, user.email, user.name)
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = passwords.hash_password(new_password)
    user.session_token = new_session_token()
    user.reset_generation += 1
    queue_mail("password_changed", user.email, {"name": user.name}, locale=user.locale)


def check_email_change(user: User, new_email: str, password: str) -> str:
    """Check a request to move the account to `new_email`; returns the address normalised.
    Whether another account has it is send_email_change()'s question, after the answer."""
    if not confirms(user, password):
        raise WrongPassword()
    normalized = normalize_email(new_email)
    if normalized == user.email:
        raise SameEmail()
    return normalized


def send_email_change(user_id: int, normalized: str) -> None:
    """Mail a confirmation link to the new address, unless another account has it (the reader
    is told nothing: the address's owner is not revealed); the change happens when followed."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or find_by_email(normalized) is not None:
        return
    payload = {"u": user.id, "old": user.email, "new": normalized}
    _mail_link(user, "email_change", tokens.CHANGE_EMAIL, payload, "/account/email", normalized)


def confirm_email_change(token: str) -> User:
    """Switch to the new address the link proves; the old address is told."""
    user, payload = _user_of(tokens.CHANGE_EMAIL, token)
    if user is None or user.email != payload.get("old"):
        raise tokens.InvalidToken("superseded")
    new = str(payload.get("new"))
    if db.session.scalar(select(User.id).where(User.email == new)) is not None:
        raise tokens.InvalidToken("address taken meanwhile")
    old = user.email
    user.email = new
    user.verified_at = utcnow()
    user.reset_generation += 1
    queue_mail("email_changed", old, {"name": user.name, "new_email": new}, locale=user.locale)
    audit.record("account.email_changed", "user", user.id, actor_id=user.id)
    return user


def update_profile(user: User, name: str, locale: str, email_consent: bool) -> None:
    """Change what a reader may change freely."""
    user.name = name.strip()
    user.locale = locale
    user.email_consent = email_consent


# Called with the user before an account is erased, e.g. to end its payments at Stripe. A hook
# raises AccountError to stop the deletion (nothing is erased then).
BEFORE_DELETE: list[Callable[[User], None]] = []


def delete_account(user: User, password: str) -> None:
    """Erase personal data; the row stays, anonymised, so money records keep their owner."""
    if not confirms(user, password):
        raise WrongPassword()
    for hook in BEFORE_DELETE:
        hook(user)
    queue_mail("account_deleted", user.email, {"name": user.name}, locale=user.locale)
    # Sign-in requests hold the address: they go with it.
    db.session.execute(
        delete(SignInRequest).where(
            or_(SignInRequest.user_id == user.id, SignInRequest.email == user.email)
        )
    )
    user.email = f"deleted-{user.id}@invalid.invalid"
    user.name = ""
    user.password_hash = UNUSABLE_PASSWORD
    user.email_consent = False
    user.verified_at = None
    user.session_token = new_session_token()
    user.deleted_at = utcnow()
    audit.record("account.deleted", "user", user.id, actor_id=user.id)


def export_data(user: User) -> dict[str, Any]:
    """Everything this app holds about the reader, as JSON-ready data."""
    entries = db.session.scalars(
        select(audit.AuditEntry)
        .where(audit.AuditEntry.target_type == "user", audit.AuditEntry.target_id == str(user.id))
        .order_by(audit.AuditEntry.id)
    ).all()
    return {
        "account": {
            "email": user.email,
            "name": user.name,
            "locale": user.locale,
            "role": user.role.value,
            "email_consent": user.email_consent,
            "verified_at": _iso(user.verified_at),
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "history": [
            {"action": e.action, "at": _iso(e.created_at), "details": e.details} for e in entries
        ],
    }


def _iso(value) -> str | None:
    """ISO 8601 or None."""
    return value.isoformat() if value else None


def create_staff(email: str, password: str, name: str = "", admin: bool = False) -> User:
    """Create a staff account, or raise an existing account to staff (password then unchanged)."""
    normalized = normalize_email(email)
    role = Role.admin if admin else Role.staff
    user = db.session.scalar(select(User).where(User.email == normalized))
    if user is not None:
        if user.deleted_at is not None:
            raise AccountError("That account was deleted.")
        user.role = role
    else:
        problems = passwords.password_problems(password, normalized, name)
        if problems:
            raise AccountError(" ".join(problems))
        user = User(
            email=normalized,
            password_hash=passwords.hash_password(password),
            name=name or normalized.split("@")[0],
            role=role,
            verified_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
    audit.record("account.role_set", "user", user.id, role=role.value)
    return user
