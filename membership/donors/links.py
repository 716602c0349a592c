"""The signed link that opens one donor's statement of one year, without an account.

The token names the donor's e-mail address and the year, signed with the app's SECRET_KEY
(itsdangerous, a salt of its own, so no other link of the app can pass for it). It does not
expire: a receipt kept for the tax office must still open its statement years later, and the
link shows only what the receipts sent to that address showed already. Changing SECRET_KEY
voids every link (and every session).
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from membership.accounts.models import User
from membership.extensions import db

SALT = "membership.donor-statement"
VERSION = 1
MAX_TOKEN = 400  # characters; a real token is about 80
FIRST_YEAR = 2000
PATH = "/donors/statement"  # the views' routes: PATH/<token> and PATH/<token>.pdf


class InvalidLink(Exception):
    """The link is forged, altered or not a statement link."""


def _serializer() -> URLSafeSerializer:
    """The statement links' signer."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(address: str, year: int) -> str:
    """Sign (address, year) for a statement link."""
    return _serializer().dumps({"v": VERSION, "e": address, "y": year})


def read_token(token: str) -> tuple[str, int]:
    """The (address, year) a token names; raises InvalidLink for anything the app did not sign."""
    if not token or len(token) > MAX_TOKEN:
        raise InvalidLink("length")
    try:
        payload = _serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise InvalidLink("signature") from exc
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise InvalidLink("payload")
    address, year = payload.get("e"), payload.get("y")
    if not isinstance(address, str) or not address or "@" not in address:
        raise InvalidLink("address")
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= 9999:
        raise InvalidLink("year")
    return address, year


def statement_url(address: str, year: int, pdf: bool = False) -> str:
    """The absolute link (BASE_URL) to the statement's page, or to its PDF."""
    # Built by hand rather than with url_for: commands and workers have no request to build from.
    suffix = ".pdf" if pdf else ""
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}{PATH}/{make_token(address, year)}{suffix}"


def donor_address(donation) -> str | None:
    """The address a donation's statement goes to: its account's, else the one it was made
    with (membership/donors/statements.py); None for a gift of an account deleted since."""
    if donation.user_id is not None:
        user = db.session.get(User, donation.user_id)
        if user is None or user.deleted_at is not None:
            return None
        return user.email
    return donation.email or None
