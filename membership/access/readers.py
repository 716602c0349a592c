"""Who a reader is and which perks they hold now, named by a session id, an id or an e-mail
address: one indexed query for the view, or, for the access fast path, that query together with
the article's rules (and a CMS's API key) as one UNION ALL: one round trip."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from membership.access.models import AccessRule, ApiKey
from membership.access.services import (
    AccessError,
    Requirement,
    _pick,
    _rules_select,
    _values,
    _wanted,
    check_ref,
)
from membership.accounts import services as accounts
from membership.accounts.models import User
from membership.extensions import db
from membership.perks.models import Perk, PerkGrant
from membership.timeutil import UTCDateTime, utcnow

_ACTIVE = and_(
    PerkGrant.starts_at <= bindparam("at"),
    or_(PerkGrant.ends_at.is_(None), PerkGrant.ends_at > bindparam("at")),
    or_(PerkGrant.revoked_at.is_(None), PerkGrant.revoked_at > bindparam("at")),
)
_PERKS = (
    select(Perk.slug)
    .join(PerkGrant, PerkGrant.perk_id == Perk.id)
    .where(PerkGrant.user_id == bindparam("user_id"), _ACTIVE)
)


# How a reader is named: by Flask-Login's session id (the session cookie), by id (an access
# token's `sub`, an API key's `member=`) or by case-folded e-mail (an API key's `email=`).
READER_BY = {"session": User.session_token, "id": User.id, "email": User.email}


def _reader_select(by: str, *columns):
    """The live account named `who` (READER_BY[by]), one row per active perk (or one with
    none)."""
    return (
        select(*columns)
        .select_from(User)
        .outerjoin(PerkGrant, and_(PerkGrant.user_id == User.id, _ACTIVE))
        .outerjoin(Perk, Perk.id == PerkGrant.perk_id)
        .where(READER_BY[by] == bindparam("who"), User.deleted_at.is_(None))
    )


# The signed-in reader and their perks in one round trip, by Flask-Login's session id.
_SESSION_READER = _reader_select("session", User.id, Perk.slug)
_READER_BY_ID = _reader_select("id", User.id, Perk.slug)
_READER_BY_EMAIL = _reader_select("email", User.id, Perk.slug)


@lru_cache(maxsize=256)
def _reader_and_rules_statement(
    count: int, boundary: bool = False, by: str | None = "session", key: bool = False
):
    """The reader (named `by`, see READER_BY; None: nobody) and the rules query as one UNION
    ALL, for one round trip. Rows are (0, user id, NULL, NULL, perk) for the reader and
    (1, NULL, kind, value, perk) for rules; with `key`, a row (3, key id, NULL, NULL, NULL) when
    the API key of hash `key_hash` is active and marked as used since `marked_since`; with
    `boundary` each has a sixth column, NULL but in one more row (2, …, when) giving the
    reader's next grant boundary after `at` (a grant starting, ending or revoked), or NULL."""
    no_text = cast(null(), String)
    no_int = cast(null(), Integer)
    extra = (cast(null(), UTCDateTime()),) if boundary else ()
    parts = []
    if by is not None:
        parts.append(
            _reader_select(by, literal(0, Integer), User.id, no_text, no_text, Perk.slug, *extra)
        )
    if count:  # (none: the reader alone; an article always names at least itself)
        parts.append(
            _rules_select(
                count,
                literal(1, Integer),
                no_int,
                type_coerce(AccessRule.kind, String),
                AccessRule.value,
                Perk.slug,
                *extra,
            )
        )
    if key:
        parts.append(
            select(literal(3, Integer), ApiKey.id, no_text, no_text, no_text, *extra).where(
                ApiKey.key_hash == bindparam("key_hash"),
                ApiKey.revoked_at.is_(None),
                ApiKey.last_used_at >= bindparam("marked_since"),
            )
        )
    if boundary and by is not None:
        at = bindparam("at")
        soonest = [
            func.min(case((column > at, column)))
            for column in (PerkGrant.starts_at, PerkGrant.ends_at, PerkGrant.revoked_at)
        ]
        parts.append(
            select(literal(2, Integer), no_int, no_text, no_text, no_text, func.least(*soonest))
            .select_from(PerkGrant)
            .join(User, User.id == PerkGrant.user_id)
            .where(READER_BY[by] == bindparam("who"), User.deleted_at.is_(None))
        )
    if len(parts) == 1:
        return parts[0]
    return union_all(*parts)


def reader_until(
    by: str,
    who: str | int,
    execute: Callable[[Any, dict[str, Any]], Iterable[tuple]],
    at: datetime,
) -> tuple[tuple[int, list[str]] | None, datetime | None]:
    """(user id, perks) of the reader named `who` (READER_BY[by]) and when their perks next
    change by the clock, in one round trip (PostgreSQL: LEAST); for the fast path's live
    cache."""
    rows = execute(_reader_and_rules_statement(0, True, by), {"who": who, "at": at})
    reader, _rules, until, _key = _parse(rows)
    return reader, until


def reader_and_requirement(
    by: str | None,
    who: str | int | None,
    article: str,
    tags: list[str] | tuple[str, ...],
    execute: Callable[[Any, dict[str, Any]], Iterable[tuple]],
    at: datetime | None = None,
    boundary: bool = False,
    key_hash: str | None = None,
    marked_since: datetime | None = None,
) -> tuple[tuple[int, list[str]] | None, Requirement, datetime | None, bool]:
    """The reader named `who` (READER_BY[by]; `by` None: nobody, the rules alone) and
    requirement() in one round trip, through the caller's `execute(statement, params) -> rows`
    (the access fast path's, below Flask); with `boundary` (PostgreSQL: LEAST), also when the
    reader's perks next change by the clock; with `key_hash`, also whether that API key is
    active and was marked as used since `marked_since` (True without a key)."""
    wanted = _wanted(article, tags)
    values = _values(wanted)
    key = key_hash is not None
    statement = _reader_and_rules_statement(len(values), boundary, by, key)
    params = values | {"who": who, "at": at or utcnow()}
    if key:
        params |= {"key_hash": key_hash, "marked_since": marked_since}
    rows = execute(statement, params)
    reader, rule_rows, soonest, key_seen = _parse(rows)
    return reader, _pick(rule_rows, wanted), soonest, key_seen or not key


def _parse(rows) -> tuple[tuple[int, list[str]] | None, list[tuple], datetime | None, bool]:
    """The reader, the rule rows, the boundary and whether the key's row came, of
    _reader_and_rules_statement's rows."""
    reader_rows, rule_rows, soonest, key = [], [], None, False
    for part, user_id, kind, value, perk, *when in rows:
        if part == 0:
            reader_rows.append((user_id, perk))
        elif part == 1:
            rule_rows.append((kind, value, perk))
        elif part == 3:
            key = True
        else:
            soonest = when[0]
    reader = None
    if reader_rows:
        reader = reader_rows[0][0], sorted({perk for _id, perk in reader_rows if perk is not None})
    return reader, rule_rows, soonest, key


def perk_slugs(user_id: int, at: datetime | None = None) -> list[str]:
    """The reader's active perk slugs in one light query (same rule as active_grants)."""
    params = {"user_id": user_id, "at": at or utcnow()}
    return sorted({row[0] for row in db.session.connection().execute(_PERKS, params)})


def session_reader(session_token: str, at: datetime | None = None) -> tuple[int, list[str]] | None:
    """(user id, active perk slugs) of the account behind a Flask-Login session id, in one
    query; None when no live account has it."""
    return _reader(_SESSION_READER, session_token, at)


def reader_by_id(user_id: int, at: datetime | None = None) -> tuple[int, list[str]] | None:
    """(user id, active perk slugs) of a live account, in one query; None when there is none
    (deleted, or never was)."""
    return _reader(_READER_BY_ID, user_id, at)


def _reader(statement, who: str | int, at: datetime | None) -> tuple[int, list[str]] | None:
    """(user id, perks) from a _reader_select statement's rows, or None."""
    rows = db.session.connection().execute(statement, {"who": who, "at": at or utcnow()}).all()
    if not rows:
        return None
    return rows[0][0], sorted({row[1] for row in rows if row[1] is not None})


def member_lookup(member_id: str | None, email: str | None) -> tuple[str, int | str | None]:
    """How to find the member a server asks about (`member=` wins over `email=`): ("id", id) or
    ("email", the address as stored, or None when it is no address); AccessError for input
    the CMS must correct."""
    if member_id:
        # ASCII digits, bounded: str.isdigit() also accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,10}", member_id) or not 0 < int(member_id) < 2**31:
            raise AccessError(_l("member must be a positive whole number."))
        return "id", int(member_id)
    text = check_ref(email or "", "email")
    try:
        return "email", accounts.normalize_email(text)
    except accounts.AccountError:
        return "email", None


def reader_named(by: str, who: int | str | None) -> tuple[int, list[str]] | None:
    """(user id, active perk slugs) of the live account member_lookup() names, in one query;
    None when there is none."""
    if who is None:
        return None
    return _reader(_READER_BY_ID if by == "id" else _READER_BY_EMAIL, who, None)
