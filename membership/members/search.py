"""Staff search from one box: members, donations and gift codes by e-mail, name or Stripe id.

- A Stripe id (cus_, sub_, pi_, ch_, in_, cs_) is looked up exactly, wherever that kind is kept.
- A gift code (GIFT-XXXX-XXXX-XXXX, any case, spaces or none) is looked up exactly.
- Anything else: addresses that begin with it (case-folded, as addresses are stored; an index
  range, not LIKE) and names that contain it in any letter case and any script: PostgreSQL's
  ILIKE folds Georgian, Armenian and Cyrillic letters under a UTF-8 locale (C.UTF-8 does);
  SQLite's lower() knows only ASCII, so there the name is compared through casefold(), a Python
  function every SQLite connection gets (members/__init__.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from membership.accounts.models import User
from membership.billing.models import Membership
from membership.extensions import db
from membership.fundraisers.models import Donation
from membership.gifts.models import GiftMembership
from membership.gifts.services import normalize_code
from membership.ledger.models import LedgerEntry

LIMIT = 25
MAX_QUERY = 254
STRIPE_PREFIXES = ("cus_", "sub_", "pi_", "ch_", "in_", "cs_")
CODE_SHAPE = re.compile(r"^(GIFT[\s-]*)?[A-Z0-9]{4}[\s-]+[A-Z0-9]{4}[\s-]+[A-Z0-9]{4}$|^GIFT")
TOP = "\U0010ffff"  # above every character: [prefix, prefix + TOP) is "begins with prefix"


@dataclass
class Results:
    """What one query found, grouped."""

    query: str
    members: list[User] = field(default_factory=list)
    donations: list[Donation] = field(default_factory=list)
    gifts: list[GiftMembership] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing found."""
        return not (self.members or self.donations or self.gifts)


def search(query: str, limit: int = LIMIT) -> Results:
    """Members, donations and gift memberships the query names."""
    text = " ".join(query.split())[:MAX_QUERY]
    results = Results(text)
    if not text:
        return results
    if text.startswith(STRIPE_PREFIXES) and " " not in text:
        _stripe_id(text, results, limit)
        return results
    code = normalize_code(text)  # empty unless it has a code's twelve letters and digits
    if code:
        results.gifts = _gifts(GiftMembership.code == code, limit)
        if results.gifts or CODE_SHAPE.match(text.upper()):
            return results  # written as a code: no name or address looks like one
    _words(text, results, limit, names="@" not in text)
    return results


def _contains(column, text: str):
    """`column` contains `text` in any letter case, in any script, on either database."""
    if db.session.get_bind().dialect.name == "postgresql":
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.ilike(f"%{escaped}%", escape="\\")
    return func.casefold(column).contains(text.casefold(), autoescape=True)


def _begins(column, text: str):
    """A case-folded address column begins with `text` (uses the column's index)."""
    prefix = text.casefold()
    return (column >= prefix) & (column < prefix + TOP)


def _words(text: str, results: Results, limit: int, names: bool) -> None:
    """Addresses beginning with the text and, unless it has an @ (an address: the index range
    alone answers), names containing it."""
    member = _begins(User.email, text)
    donor = _begins(Donation.email, text)
    if names:
        member = or_(member, _contains(User.name, text))
        donor = or_(donor, _contains(Donation.public_name, text))
    results.members = list(
        db.session.scalars(
            select(User)
            .where(User.deleted_at.is_(None), member)
            .order_by(User.id.desc())
            .limit(limit)
        )
    )
    results.donations = list(
        db.session.scalars(select(Donation).where(donor).order_by(Donation.id.desc()).limit(limit))
    )
    results.gifts = _gifts(
        or_(_begins(GiftMembership.buyer_email, text),
            _begins(GiftMembership.recipient_email, text)),
        limit,
    )  # fmt: skip


def _gifts(condition, limit: int) -> list[GiftMembership]:
    return list(
        db.session.scalars(
            select(GiftMembership).where(condition).order_by(GiftMembership.id.desc()).limit(limit)
        )
    )


def _stripe_id(text: str, results: Results, limit: int) -> None:
    """Exact look-ups of one Stripe id, wherever its kind is kept."""
    user_ids: set[int] = set()
    donation_ids: set[int] = set()
    gift_condition = None
    if text.startswith("cus_"):
        user_ids |= _ids(select(User.id).where(User.stripe_customer_id == text))
        user_ids |= _ids(select(Membership.user_id).where(Membership.stripe_customer_id == text))
    elif text.startswith("sub_"):
        user_ids |= _ids(
            select(Membership.user_id).where(Membership.stripe_subscription_id == text)
        )
        donation_ids |= _ids(select(Donation.id).where(Donation.stripe_subscription_id == text))
    elif text.startswith("cs_"):
        donation_ids |= _ids(select(Donation.id).where(Donation.stripe_checkout_session_id == text))
        gift_condition = GiftMembership.checkout_session_id == text
    else:  # pi_, ch_, in_: a payment in the ledger (a gift membership's intent is its own)
        paid = or_(LedgerEntry.stripe_object_id == text, LedgerEntry.payment_intent_id == text)
        for user_id, donation_id in db.session.execute(
            select(LedgerEntry.user_id, LedgerEntry.donation_id).where(paid).limit(limit)
        ):
            if donation_id is not None:
                donation_ids.add(donation_id)
            elif user_id is not None:
                user_ids.add(user_id)
        if text.startswith("pi_"):
            gift_condition = GiftMembership.payment_intent_id == text
    if user_ids:
        results.members = list(
            db.session.scalars(
                select(User).where(User.id.in_(sorted(user_ids))).order_by(User.id.desc())
            )
        )
    if donation_ids:
        results.donations = list(
            db.session.scalars(
                select(Donation)
                .where(Donation.id.in_(sorted(donation_ids)))
                .order_by(Donation.id.desc())
            )
        )
    if gift_condition is not None:
        results.gifts = _gifts(gift_condition, limit)


def _ids(statement) -> set[int]:
    return {value for value in db.session.scalars(statement) if value is not None}
