"""Access decisions: which perk an article needs, whether a reader has it, and the free meter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    bindparam,
    func,
    select,
    type_coerce,
)

from membership.access.models import AccessRule, MeterRead, RuleKind
from membership.accounts.models import User
from membership.extensions import db
from membership.perks.models import Perk
from membership.timeutil import utcnow

METER_WINDOW = timedelta(days=30)
MAX_REF_LENGTH = 255
WROTE = "membership.access.wrote"  # session.info: this request wrote something to commit
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
# A rule of a more specific kind wins over a less specific one.
PRECEDENCE = {RuleKind.id: 0, RuleKind.slug: 1, RuleKind.tag: 2, RuleKind.path: 3}


class AccessError(Exception):
    """Bad input to an access operation; the message is safe to show."""


@dataclass(frozen=True)
class Requirement:
    """What an article needs: a perk slug, or None when it is open."""

    perk: str | None


@dataclass
class Meter:
    """The free meter of a reader without the perk."""

    limit: int
    used: int
    counted: bool = False  # whether this article is (now) among the free reads
    spent: bool = False  # whether this answer wrote a new free read

    @property
    def remaining(self) -> int:
        """Free reads left in the window."""
        return max(self.limit - self.used, 0)

    def as_dict(self) -> dict[str, int]:
        """The `meter` object of the API answer."""
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining}


@dataclass
class Decision:
    """The answer to "may this reader read this article?"."""

    allowed: bool
    reason: str
    perks: list[str]
    required: str | None
    meter: Meter | None = None

    def as_dict(self) -> dict:
        """The JSON body of the API answer."""
        body = {
            "allowed": self.allowed,
            "reason": self.reason,
            "perks": self.perks,
            "required_perk": self.required,
        }
        if self.meter is not None:
            body["meter"] = self.meter.as_dict()
        return body


# --- references and rules --------------------------------------------------------------------


def check_ref(value: str, what: str = "article") -> str:
    """A CMS reference, stripped; refuses empty, overlong and control characters."""
    value = (value or "").strip()
    if not value:
        raise AccessError(_l("%(what)s is required.", what=what))
    if len(value) > MAX_REF_LENGTH:
        raise AccessError(
            _l("%(what)s is longer than %(max)s characters.", what=what, max=MAX_REF_LENGTH)
        )
    if CONTROL_CHARACTERS.search(value):
        raise AccessError(_l("%(what)s contains control characters.", what=what))
    return value


def normalize_path(value: str) -> str:
    """A URL or path as a path without query, fragment or trailing slash ("/" stays "/")."""
    parts = urlsplit(value)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


def path_prefixes(path: str) -> list[str]:
    """Every segment-wise prefix of a normalized path: /a/b → ["/", "/a", "/a/b"]."""
    prefixes = ["/"]
    current = ""
    for segment in path.strip("/").split("/"):
        if segment:
            current += "/" + segment
            prefixes.append(current)
    return prefixes


def normalize_rule_value(kind: RuleKind, value: str) -> str:
    """How a rule's value is stored: paths normalized, everything else as typed."""
    value = check_ref(value, "value")
    return normalize_path(value) if kind == RuleKind.path else value


# Built once: a statement object is reusable, and SQLAlchemy caches its compiled form, so the hot
# path pays only for parameters and the round trip.
def _rules_select(count: int, *columns):
    """Rules naming any of `count` candidate values, with plain (not expanding) parameters so
    that SQLAlchemy reuses its compiled form."""
    return (
        select(*columns)
        .select_from(AccessRule)
        .outerjoin(Perk, Perk.id == AccessRule.perk_id)
        .where(
            # every kind, named, so that the (kind, value) unique index serves the look-up
            AccessRule.kind.in_([bindparam(f"k_{kind.value}", kind) for kind in RuleKind]),
            AccessRule.value.in_([bindparam(f"v{i}") for i in range(count)]),
        )
    )


@lru_cache(maxsize=64)
def _rules_statement(count: int):
    """The rules query for `count` candidate values: statements only, no data, per process."""
    return _rules_select(count, AccessRule.kind, AccessRule.value, Perk.slug)


@lru_cache(maxsize=4)
def _all_rules_statement(limit: int):
    """Every rule with its perk's slug, at most `limit` rows."""
    return (
        select(type_coerce(AccessRule.kind, String), AccessRule.value, Perk.slug)
        .outerjoin(Perk, Perk.id == AccessRule.perk_id)
        .order_by(AccessRule.id)
        .limit(limit)
    )


def _wanted(article: str, tags: list[str] | tuple[str, ...]) -> dict[RuleKind, set[str]]:
    """The values each kind of rule would have to name to match this article."""
    slugs = {article}
    prefixes: set[str] = set()
    if article.startswith("/") or "://" in article:
        path = normalize_path(article)
        prefixes = set(path_prefixes(path))
        slugs.add(path.rsplit("/", 1)[-1])  # a URL's last segment is the article's slug
    return {
        RuleKind.id: {article},
        RuleKind.slug: slugs,
        RuleKind.tag: set(tags),
        RuleKind.path: prefixes,
    }


def _values(wanted: dict[RuleKind, set[str]]) -> dict[str, str]:
    """The candidate values as the rules statements' parameters v0…vN."""
    return {f"v{i}": value for i, value in enumerate(sorted(set().union(*wanted.values())))}


def _pick(rows, wanted: dict[RuleKind, set[str]]) -> Requirement:
    """The most specific matching rule of (kind, value, perk slug) rows."""
    matching = [row for row in rows if row[1] in wanted[RuleKind(row[0])]]
    if not matching:
        return Requirement(None)
    _kind, _value, slug = min(
        matching, key=lambda row: (PRECEDENCE[RuleKind(row[0])], -len(row[1]), row[1])
    )
    return Requirement(slug)


def requirement(article: str, tags: list[str] | tuple[str, ...] = ()) -> Requirement:
    """The perk an article needs by the rules: id, then slug (the ref itself or a URL's last
    segment), then tag, then the longest path prefix.

    One indexed query per call; rules change rarely but are read straight from the database, so
    every process agrees the moment a rule is saved.
    """
    wanted = _wanted(article, tags)
    params = _values(wanted)
    rows = db.session.connection().execute(_rules_statement(len(params)), params)
    return _pick(rows, wanted)


def all_rules(execute: Callable[[Any, dict[str, Any]], Iterable[tuple]], limit: int):
    """Every rule as {(kind, value): perk slug or None}, through the caller's `execute`; None
    when there are more than `limit` (then they are looked up per article instead)."""
    rows = execute(_all_rules_statement(limit + 1), {})
    if len(rows) > limit:
        return None
    return {(RuleKind(kind), value): perk for kind, value, perk in rows}


def requirement_in(
    rules: dict[tuple[RuleKind, str], str | None], article: str, tags: list[str] | tuple[str, ...]
) -> Requirement:
    """requirement(), from a table of every rule (all_rules) instead of the database."""
    wanted = _wanted(article, tags)
    rows = [
        (kind, value, rules[(kind, value)])
        for kind, values in wanted.items()
        for value in values
        if (kind, value) in rules
    ]
    return _pick(rows, wanted)


def perk_exists(slug: str) -> bool:
    """Whether a perk with this slug exists."""
    return db.session.scalar(select(Perk.id).where(Perk.slug == slug)) is not None


# --- the meter ---------------------------------------------------------------------------------


def meter_limit(config=None) -> int:
    """Free premium articles per 30 days (METER_FREE_ARTICLES of `config`, or the app's)."""
    config = current_app.config if config is None else config
    return max(int(config.get("METER_FREE_ARTICLES", 3)), 0)


def account_meter(user_id: int, article: str, spend: bool, now: datetime | None = None) -> Meter:
    """Count a signed-in reader's free reads; spend one on `article` when allowed and asked.

    Opening the same article again within the window costs nothing.
    """
    now = now or utcnow()
    since = now - METER_WINDOW
    limit = meter_limit()
    if spend:
        # One reader's questions that may spend take turns (PostgreSQL: a row lock until the
        # view commits), so that two at once cannot both spend the last free read.
        db.session.execute(
            select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        )
    rows = db.session.execute(
        select(MeterRead.article, func.count())
        .where(MeterRead.user_id == user_id, MeterRead.read_at > since)
        .group_by(MeterRead.article)
    ).all()
    read = {row[0] for row in rows}
    meter = Meter(limit=limit, used=len(read))
    if article in read:
        meter.counted = True
    elif spend and meter.used < limit:
        db.session.add(MeterRead(user_id=user_id, article=article, read_at=now))
        db.session.flush()
        db.session.info[WROTE] = True
        meter.used += 1
        meter.counted = meter.spent = True
    return meter


# --- the decision ------------------------------------------------------------------------------


def decide(
    required: str | None,
    perks: list[str],
    meter: Meter | None,
) -> Decision:
    """Combine the requirement, the reader's perks and the meter into one answer."""
    if required is None:
        return Decision(True, "open", perks, None)
    if required in perks:
        return Decision(True, "perk", perks, required)
    # A free read: this article is among them, or (a peek, a navigation: nothing spent) one is
    # left for it. An answer that did not spend says what a read would get.
    if meter is not None and (meter.counted or meter.remaining > 0):
        return Decision(True, "metered", perks, required, meter)
    if meter is not None and meter.limit > 0:
        return Decision(False, "meter_exhausted", perks, required, meter)
    return Decision(False, "perk_required", perks, required, meter)
