"""Signed, expiring links for e-mail verification, e-mail change, password reset and the
"update my card" link of payment-recovery mails."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VERIFY = "verify-email"
RESET = "reset-password"
CHANGE_EMAIL = "change-email"
FIX_PAYMENT = "fix-payment"

_MAX_AGE = {
    VERIFY: "EMAIL_TOKEN_MAX_AGE",
    CHANGE_EMAIL: "EMAIL_TOKEN_MAX_AGE",
    FIX_PAYMENT: "PAYMENT_LINK_MAX_AGE",
}


class InvalidToken(Exception):
    """The link is forged, expired, used or superseded."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """One serializer per purpose: a token made for one purpose fails for another."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"membership.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """Sign a payload for a link."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str) -> dict[str, Any]:
    """Check signature and age; raises InvalidToken."""
    max_age = current_app.config[_MAX_AGE.get(purpose, "RESET_TOKEN_MAX_AGE")]
    if len(token) > 1000:
        raise InvalidToken("too long")
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken("expired") from exc
    except BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("bad payload")
    return payload
