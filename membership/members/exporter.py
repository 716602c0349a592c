"""`members export`: every reader in our plain CSV (docs/staff.md), which `--format csv` reads back.

Readers (role member, not deleted) a thousand at a time: the account, consent, the complimentary
perks with their last day, the perks open now, and the newest membership as Stripe last told it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC
from typing import TextIO

from sqlalchemy import func, or_, select

from membership.accounts.models import Role, User
from membership.billing.models import Membership, Plan
from membership.extensions import db
from membership.members.formats import CSV_COLUMNS, FORMULA_STARTS, day_text
from membership.money import to_major
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow

CHUNK = 1000


def count() -> int:
    """How many readers an export writes."""
    return db.session.scalar(select(func.count()).select_from(User).where(*_readers())) or 0


def _readers():
    return (User.role == Role.member, User.deleted_at.is_(None))


def rows(chunk: int = CHUNK) -> Iterator[list[str]]:
    """One list of cells per reader, in CSV_COLUMNS order, by account id."""
    last = 0
    while True:
        users = list(
            db.session.scalars(
                select(User).where(*_readers(), User.id > last).order_by(User.id).limit(chunk)
            )
        )
        if not users:
            return
        ids = [u.id for u in users]
        comp, open_now = _perks(ids)
        newest = _memberships(ids)
        for user in users:
            m = newest.get(user.id)
            yield [
                user.email, _safe(user.name), user.locale, "yes" if user.email_consent else "no",
                user.stripe_customer_id or "", _iso(user.created_at),
                "; ".join(comp.get(user.id, [])), " ".join(open_now.get(user.id, [])),
                *(_membership(m) if m else [""] * 8),
            ]  # fmt: skip
        last = ids[-1]
        db.session.expunge_all()  # flat memory: the chunk's objects go


def write(out: TextIO, progress=None) -> int:
    """Write the header and every reader to `out`; returns the number of readers."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    written = 0
    for cells in rows():
        writer.writerow(cells)
        written += 1
        if progress is not None:
            progress(1)
    return written


def _perks(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Per reader: complimentary perks ("slug:last day", one per perk, the latest end) and the
    slugs of every perk open now."""
    now = utcnow()
    grants = db.session.execute(
        select(PerkGrant.user_id, Perk.slug, PerkGrant.source, PerkGrant.starts_at,
               PerkGrant.ends_at)
        .join(Perk, Perk.id == PerkGrant.perk_id)
        .where(
            PerkGrant.user_id.in_(ids),
            or_(PerkGrant.revoked_at.is_(None), PerkGrant.revoked_at > now),
            or_(PerkGrant.ends_at.is_(None), PerkGrant.ends_at > now),
        )
        .order_by(PerkGrant.user_id, Perk.position, Perk.slug)
    )  # fmt: skip
    comp: dict[int, dict[str, object]] = {}
    open_now: dict[int, list[str]] = {}
    for user_id, slug, source, starts, ends in grants:
        if source == GrantSource.complimentary:
            ends_by_perk = comp.setdefault(user_id, {})
            known = ends_by_perk.get(slug, False)
            if known is False or (known is not None and (ends is None or ends > known)):
                ends_by_perk[slug] = ends
        if starts <= now and slug not in open_now.setdefault(user_id, []):
            open_now[user_id].append(slug)
    written = {
        user_id: [slug if end is None else f"{slug}:{day_text(end)}" for slug, end in p.items()]
        for user_id, p in comp.items()
    }
    return written, open_now


def _memberships(ids: list[int]) -> dict[int, tuple[Membership, str]]:
    newest = (
        select(func.max(Membership.id))
        .where(Membership.user_id.in_(ids))
        .group_by(Membership.user_id)
    )
    found = db.session.execute(
        select(Membership, Plan.slug)
        .outerjoin(Plan, Plan.id == Membership.plan_id)
        .where(Membership.id.in_(newest))
    )
    return {m.user_id: (m, slug or "") for m, slug in found}


def _membership(found: tuple[Membership, str]) -> list[str]:
    m, plan = found
    end = m.ended_at or m.current_period_end
    amount = str(to_major(m.amount, m.currency)) if m.amount is not None and m.currency else ""
    minor = "" if m.amount is None else str(m.amount)
    return [m.status, plan, m.interval, amount, m.currency, _iso(end),
            m.stripe_subscription_id, minor]  # fmt: skip


def _iso(moment) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _safe(value: str) -> str:
    """Names that a spreadsheet would run as formulas get a leading quote (import drops it)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
