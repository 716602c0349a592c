"""Sign-in by e-mail: a single-use link and a 6-digit code, mailed together, valid 15 minutes.

A request (`SignInRequest`) keeps only hashes: the link's random token as SHA-256, the code as
an HMAC keyed with SECRET_KEY and the token's hash. Using the link or the code uses the request
up (one conditional UPDATE, so two tabs cannot both use it); a newer request for the address
supersedes the older ones; each code try is counted before it is compared, so at most
MAX_CODE_ATTEMPTS tries are ever checked against one code, however many arrive at once.

An address without an account gets a "join with this address" mail: the account is created
only when its link or code is used, so nobody creates accounts for someone else's address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from membership import audit
from membership.accounts.models import Role, SignInRequest, User, new_session_token
from membership.accounts.services import (
    UNUSABLE_PASSWORD,
    AccountError,
    find_by_email,
    link,
    normalize_email,
)
from membership.accounts.tokens import InvalidToken
from membership.extensions import db
from membership.mail import queue_mail
from membership.security import safe_next
from membership.timeutil import utcnow

MAX_CODE_ATTEMPTS = 5
CODE_DIGITS = 6
PURGE_AFTER = timedelta(days=1)  # used and expired requests are deleted this long after expiry
LINK_PATH = "/login/email"


@dataclass
class SignIn:
    """What using a link or code did: whom to sign in, whether the account is new, where next."""

    user: User
    created: bool
    next_url: str | None
    password_removed: bool = False


def max_age() -> timedelta:
    """How long a link and its code work (SIGN_IN_LINK_MAX_AGE seconds, 15 minutes)."""
    return timedelta(seconds=int(current_app.config["SIGN_IN_LINK_MAX_AGE"]))


def _token_digest(token: str) -> str:
    """What is stored for a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _code_digest(token_hash: str, code: str) -> str:
    """What is stored for a code: an HMAC bound to its own request (the token's hash)."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"sign-in-code:{token_hash}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def clean_code(raw: str | None) -> str | None:
    """The code as typed (spaces and dashes allowed) as six ASCII digits, or None."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")[:32]
    if len(text) != CODE_DIGITS or not all("0" <= ch <= "9" for ch in text):
        return None
    return text


def request_sign_in(email: str, next_url: str | None = None, locale: str = "en") -> None:
    """Mail a sign-in link and code to the account with this address, or a "join with this
    address" link and code when none has it; the caller answers alike either way (views run
    this after the answer, see accounts/background.py)."""
    try:
        normalized = normalize_email(email)
    except AccountError:
        return
    user = find_by_email(normalized)
    if user is not None:
        _issue(user.email, user, next_url, user.locale)
    else:
        _issue(normalized, None, next_url, locale)


def send_sign_in_link(user: User, *, next_url: str | None = None) -> None:
    """Queue a sign-in link and code for this account, in its language (member imports send
    these as invitations); flushes, never commits."""
    if not user.is_active:
        raise AccountError("That account was deleted.")
    _issue(user.email, user, next_url, user.locale)


def _issue(email: str, user: User | None, next_url: str | None, locale: str) -> SignInRequest:
    """Store a new request for the address (superseding its live ones) and queue its mail."""
    now = utcnow()
    db.session.execute(
        update(SignInRequest)
        .where(SignInRequest.email == email, SignInRequest.used_at.is_(None))
        .values(used_at=now)
    )
    db.session.execute(delete(SignInRequest).where(SignInRequest.expires_at < now - PURGE_AFTER))
    token = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    token_hash = _token_digest(token)
    request = SignInRequest(
        email=email,
        user_id=user.id if user is not None else None,
        token_hash=token_hash,
        code_hash=_code_digest(token_hash, code),
        code_attempts=0,
        next_url=safe_next(next_url, "") or None,
        locale=locale,
        created_at=now,
        expires_at=now + max_age(),
    )
    db.session.add(request)
    db.session.flush()
    queue_mail(
        "sign_in_link" if user is not None else "sign_in_join",
        email,
        {
            "name": user.name if user is not None else "",
            "url": link(f"{LINK_PATH}/{token}"),
            "code": code,
            "minutes": int(max_age().total_seconds() // 60),
        },
        locale=locale,
        secret=("url", "code"),
    )
    return request


def pending(token: str) -> SignInRequest:
    """The live request a link names (for its confirm page); raises InvalidToken when the link
    is unknown, used, superseded or expired, or its account is gone or changed address."""
    request = _by_token(token)
    if request is None or request.used_at is not None or request.expires_at <= utcnow():
        raise InvalidToken("used, superseded or expired")
    _account_of(request)  # raises when the account went away meanwhile
    return request


def _by_token(token: str) -> SignInRequest | None:
    """The request whose link carries this token, live or not."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        select(SignInRequest).where(SignInRequest.token_hash == _token_digest(token))
    )


def confirm_link(token: str) -> SignIn:
    """Use a link (its confirm button): sign in, or create the account it was sent to join."""
    request = pending(token)
    if not _use_up(request):
        raise InvalidToken("used meanwhile")
    return _complete(request)


def sign_in_with_code(email: str, code: str) -> SignIn | None:
    """Use the code of the newest live request for this address, or None when it is wrong,
    used, expired or out of tries (the same None for every case, and for unknown addresses)."""
    now = utcnow()
    try:
        normalized = normalize_email(email)
    except AccountError:
        normalized = ""
    request = db.session.scalar(
        select(SignInRequest)
        .where(
            SignInRequest.email == normalized,
            SignInRequest.used_at.is_(None),
            SignInRequest.expires_at > now,
        )
        .order_by(SignInRequest.id.desc())
        .limit(1)
    )
    cleaned = clean_code(code) or ""
    expected = request.code_hash if request is not None else ""
    given = _code_digest(request.token_hash if request is not None else "", cleaned)
    if request is None or not _count_attempt(request):
        return None
    if not cleaned or not hmac.compare_digest(expected, given):
        return None
    if not _use_up(request):
        return None
    try:
        return _complete(request)
    except InvalidToken:
        return None


def _count_attempt(request: SignInRequest) -> bool:
    """Take one of the request's code tries; False when none is left (or it was used)."""
    result = db.session.execute(
        update(SignInRequest)
        .where(
            SignInRequest.id == request.id,
            SignInRequest.used_at.is_(None),
            SignInRequest.code_attempts < MAX_CODE_ATTEMPTS,
        )
        .values(code_attempts=SignInRequest.code_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _use_up(request: SignInRequest) -> bool:
    """Mark the request used unless it was used or expired meanwhile; True when this call did."""
    now = utcnow()
    result = db.session.execute(
        update(SignInRequest)
        .where(
            SignInRequest.id == request.id,
            SignInRequest.used_at.is_(None),
            SignInRequest.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    request.used_at = now
    return True


def _account_of(request: SignInRequest) -> User | None:
    """The account a request signs in to (None: the address has none, the link creates it)."""
    if request.user_id is None:
        return find_by_email(request.email)
    user = db.session.get(User, request.user_id)
    if user is None or not user.is_active or user.email != request.email:
        raise InvalidToken("account gone or address changed")
    return user


def _complete(request: SignInRequest) -> SignIn:
    """Sign in to the request's account, creating it for a join; the mail proved the address."""
    user = _account_of(request)
    created = user is None
    if user is None:
        user, created = _join(request)
    now = utcnow()
    password_removed = False
    if user.verified_at is None:
        if user.has_password:
            # Whoever registered the address chose this password before anyone proved the
            # address: it may be someone else's (registered first, to wait for its owner). The
            # owner, proven now, keeps the account; that password and its sessions go.
            user.password_hash = UNUSABLE_PASSWORD
            user.session_token = new_session_token()
            password_removed = True
            audit.record("account.unproven_password_removed", "user", user.id, actor_id=user.id)
        user.verified_at = now
        audit.record("account.verified", "user", user.id, actor_id=user.id)
    user.last_login_at = now
    audit.record("account.signed_in_by_email", "user", user.id, actor_id=user.id)
    return SignIn(user, created, request.next_url, password_removed)


def _join(request: SignInRequest) -> tuple[User, bool]:
    """Create the account a "join with this address" link was sent for: no password (one can
    be set on the account page), no name yet, the language the request was made in."""
    user = User(
        email=request.email,
        password_hash=UNUSABLE_PASSWORD,
        name="",
        locale=request.locale,
        email_consent=False,
        role=Role.member,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:  # another request for the address created the account just now
        existing = find_by_email(request.email)
        if existing is None:
            raise
        return existing, False
    audit.record("account.registered", "user", user.id, actor_id=user.id, method="email")
    return user, True
