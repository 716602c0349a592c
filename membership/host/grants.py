"""Grants: money the host paid an outlet, recorded by staff, audited, undone only by a
counter-entry. A form's idempotency token makes a double click one grant."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from membership import audit
from membership.database import insert_new
from membership.extensions import db
from membership.fundraisers.models import Campaign, Outlet
from membership.fundraisers.totals import bump_version
from membership.host.models import OutletGrant
from membership.money import MoneyError, to_minor

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CURRENCY = re.compile(r"^[a-z]{3}$")
MAX_GRANT = 10**11  # minor units
EARLIEST = date(2000, 1, 1)


class GrantError(ValueError):
    """A grant that cannot be recorded; the message is a problem code (amount, currency, date,
    paid_amount, rate, outlet, token, reversed)."""


@dataclass(frozen=True)
class GrantInput:
    """What staff typed, as text (amounts in major units)."""

    amount: str
    currency: str
    paid_on: date | None
    bank_reference: str = ""
    paid_amount: str = ""
    paid_currency: str = ""
    rate: str = ""
    note: str = ""


def new_token() -> str:
    """A fresh idempotency token for a grant form."""
    return secrets.token_urlsafe(24)


def _currency(text: str, code: str) -> str:
    """A lower-case ISO currency code, or GrantError(code)."""
    value = (text or "").strip().lower()
    if not CURRENCY.match(value):
        raise GrantError(code)
    return value


def _rate(text: str) -> str | None:
    """A positive decimal exchange rate as text (at most 12 significant places), or None."""
    raw = (text or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise GrantError("rate") from exc
    if not value.is_finite() or value <= 0 or len(raw) > 20:
        raise GrantError("rate")
    return raw


def check(campaign: Campaign, outlet: Outlet, data: GrantInput, today: date) -> dict:
    """The grant's column values from staff input; GrantError on any problem, nothing written."""
    if outlet.campaign_id != campaign.id:
        raise GrantError("outlet")
    currency = _currency(data.currency or campaign.currency, "currency")
    try:
        amount = to_minor(data.amount or "", currency, maximum=MAX_GRANT)
    except MoneyError as exc:
        raise GrantError("amount") from exc
    if data.paid_on is None or not EARLIEST <= data.paid_on <= today:
        raise GrantError("date")
    values = {"amount": amount, "currency": currency, "paid_on": data.paid_on,
              "paid_amount": None, "paid_currency": None, "rate": _rate(data.rate)}  # fmt: skip
    if (data.paid_amount or "").strip():
        paid_currency = _currency(data.paid_currency, "paid_currency")
        if paid_currency == currency:
            raise GrantError("paid_currency")
        try:
            values["paid_amount"] = to_minor(data.paid_amount, paid_currency, maximum=MAX_GRANT)
        except MoneyError as exc:
            raise GrantError("paid_amount") from exc
        values["paid_currency"] = paid_currency
    elif (data.paid_currency or "").strip() or values["rate"]:
        raise GrantError("paid_amount")
    values["bank_reference"] = (data.bank_reference or "").strip()[:120]
    values["note"] = (data.note or "").strip()[:255]
    return values


def record_grant(campaign: Campaign, outlet: Outlet, data: GrantInput, token: str, actor,
                 today: date) -> tuple[OutletGrant, bool]:  # fmt: skip
    """Record a grant once per token; returns (grant, True) when new, (the grant that token
    recorded, False) on a repeat. Audited; the public figures move (a new version)."""
    if not IDEMPOTENCY_KEY.match(token or ""):
        raise GrantError("token")
    existing = _by_token(token)
    if existing is not None:
        if existing.outlet_id != outlet.id or existing.reverses_id is not None:
            raise GrantError("token")
        return existing, False
    values = check(campaign, outlet, data, today)
    values |= {"campaign_id": campaign.id, "outlet_id": outlet.id, "token": token,
               "created_by_id": actor.id if actor else None}  # fmt: skip
    grant = insert_new(OutletGrant, "token", values)
    if grant is None:  # a concurrent request with the same token won
        return _by_token(token), False
    bump_version(campaign.id)
    audit.record("grant.recorded", "outlet", outlet.id, actor.id if actor else None,
                 grant_id=grant.id, amount=grant.amount, currency=grant.currency,
                 paid_on=grant.paid_on.isoformat(), bank_reference=grant.bank_reference,
                 paid_amount=grant.paid_amount, paid_currency=grant.paid_currency,
                 rate=grant.rate)  # fmt: skip
    return grant, True


def reverse_grant(grant: OutletGrant, token: str, actor, today: date,
                  note: str = "") -> tuple[OutletGrant, bool]:  # fmt: skip
    """Undo a grant by its counter-entry (once: a second reversal, or a repeat of the same
    form, changes nothing); returns (counter-entry, new?)."""
    if not IDEMPOTENCY_KEY.match(token or ""):
        raise GrantError("token")
    if grant.reverses_id is not None:
        raise GrantError("reversed")
    locked = db.session.scalar(
        select(OutletGrant).where(OutletGrant.id == grant.id).with_for_update()
    )
    counter = db.session.scalar(select(OutletGrant).where(OutletGrant.reverses_id == locked.id))
    if counter is not None:
        return counter, False
    values = {
        "campaign_id": grant.campaign_id, "outlet_id": grant.outlet_id, "amount": -grant.amount,
        "currency": grant.currency, "paid_on": today, "bank_reference": grant.bank_reference,
        "note": (note or "").strip()[:255] or f"reverses grant {grant.id}",
        "reverses_id": grant.id, "token": token, "created_by_id": actor.id if actor else None,
    }  # fmt: skip
    counter = insert_new(OutletGrant, "token", values)
    if counter is None:
        raise GrantError("token")
    bump_version(grant.campaign_id)
    audit.record("grant.reversed", "outlet", grant.outlet_id, actor.id if actor else None,
                 grant_id=grant.id, counter_id=counter.id, amount=grant.amount,
                 currency=grant.currency)  # fmt: skip
    return counter, True


def _by_token(token: str) -> OutletGrant | None:
    """The grant a form's token recorded, if any."""
    return db.session.scalar(select(OutletGrant).where(OutletGrant.token == token))


def grants_of(outlet: Outlet) -> list[OutletGrant]:
    """An outlet's grants and counter-entries, newest first."""
    return list(
        db.session.scalars(
            select(OutletGrant)
            .where(OutletGrant.outlet_id == outlet.id)
            .order_by(OutletGrant.paid_on.desc(), OutletGrant.id.desc())
        )
    )


def reversed_ids(outlet: Outlet) -> set[int]:
    """Ids of the outlet's grants that a counter-entry undid."""
    return set(
        db.session.scalars(
            select(OutletGrant.reverses_id).where(
                OutletGrant.outlet_id == outlet.id, OutletGrant.reverses_id.is_not(None)
            )
        )
    )
