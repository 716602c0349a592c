"""Perk grants: derived from memberships, given by staff, checked by the access API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from membership import audit
from membership.accounts.models import User
from membership.extensions import db
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow


class GrantError(Exception):
    """A grant that cannot be made; the message is safe to show."""


def active_grants(user_id: int, at: datetime | None = None) -> list[PerkGrant]:
    """The grants that open a perk for this reader at `at` (default now)."""
    at = at or utcnow()
    return list(
        db.session.scalars(
            select(PerkGrant)
            .where(
                PerkGrant.user_id == user_id,
                PerkGrant.starts_at <= at,
                or_(PerkGrant.ends_at.is_(None), PerkGrant.ends_at > at),
                or_(PerkGrant.revoked_at.is_(None), PerkGrant.revoked_at > at),
            )
            .order_by(PerkGrant.id)
        )
    )


def active_perk_slugs(user_id: int, at: datetime | None = None) -> list[str]:
    """Slugs of the perks this reader has now, sorted, each once."""
    return sorted({grant.perk.slug for grant in active_grants(user_id, at)})


@dataclass(frozen=True)
class Access:
    """What one kind of source (a gift, the newsroom, a reward) opens for a reader, and until when
    (None: no end date)."""

    source: GrantSource
    perks: tuple[str, ...]
    ends_at: datetime | None


def _effective_end(grant: PerkGrant) -> datetime | None:
    """When a grant stops opening its perk: its end, or an earlier scheduled withdrawal."""
    ends = [at for at in (grant.ends_at, grant.revoked_at) if at is not None]
    return min(ends) if ends else None


def access_by_source(grants: list[PerkGrant]) -> list[Access]:
    """Active grants other than a membership's, by source: the perks and the latest end."""
    found: dict[GrantSource, list[PerkGrant]] = {}
    for grant in grants:
        if grant.source != GrantSource.membership:
            found.setdefault(grant.source, []).append(grant)
    summary = []
    for source, group in found.items():
        ends = [_effective_end(grant) for grant in group]
        summary.append(
            Access(
                source=source,
                perks=tuple(dict.fromkeys(grant.perk.name for grant in group)),
                ends_at=None if None in ends else max(ends),
            )
        )
    return summary


def perks_held(grants: list[PerkGrant]) -> list[tuple[Perk, datetime | None]]:
    """Each perk the grants open, once, with its latest end (None: no end date)."""
    ends: dict[int, datetime | None] = {}
    perks: dict[int, Perk] = {}
    for grant in grants:
        end = _effective_end(grant)
        if grant.perk_id not in perks:
            perks[grant.perk_id], ends[grant.perk_id] = grant.perk, end
        elif ends[grant.perk_id] is not None and (end is None or end > ends[grant.perk_id]):
            ends[grant.perk_id] = end
    return [(perk, ends[perk_id]) for perk_id, perk in perks.items()]


@dataclass(frozen=True)
class Window:
    """When a membership's perks are open, and why."""

    starts_at: datetime
    ends_at: datetime | None
    reason: str


def grace_period() -> timedelta:
    """How long perks outlast a failed renewal (setting GRACE_DAYS, default 7)."""
    return timedelta(days=int(current_app.config.get("GRACE_DAYS", 7)))


PAUSED = "membership paused: perks suspended"


def membership_window(membership) -> Window | None:
    """The perk window that a membership's Stripe state gives; None when it gives none.

    Only Stripe's own times enter, never the time of processing, so the same state always gives
    the same window, whatever order the events came in. While Stripe voids the membership's
    invoices (pause_collection, behavior void: "no services offered") the perks close when the
    pause began, and open again when the pause is lifted (the window is recomputed then).
    """
    window = _status_window(membership)
    paused_from = getattr(membership, "paused_from", None)
    if window is None or getattr(membership, "pause_behavior", None) != "void" or not paused_from:
        return window
    if window.ends_at is not None and window.ends_at <= paused_from:
        return window
    return Window(window.starts_at, max(paused_from, window.starts_at), PAUSED)


def _status_window(membership) -> Window | None:
    """The window of the membership's status alone."""
    start = membership.started_at
    status = membership.status
    if status in ("active", "trialing"):
        return Window(start, None, f"membership {status}")
    if status == "past_due":
        since = membership.past_due_since or membership.current_period_start or start
        return Window(
            start, since + grace_period(), "payment failed: kept through the grace period"
        )
    if status in ("canceled", "unpaid"):
        paid_end = membership.ended_at or membership.current_period_end
        if membership.latest_invoice_paid and paid_end:
            # Access ends when the subscription ends (Stripe's guidance): at the period's end for
            # a cancellation at period end, at once for an immediate one (staff, fraud, a
            # duplicate, a deleted account), whatever was paid for beyond it.
            return Window(start, max(paid_end, start), f"membership {status}: subscription ended")
        if membership.past_due_since:
            end = membership.past_due_since + grace_period()
            if membership.ended_at:
                end = min(end, max(membership.ended_at, membership.past_due_since))
            return Window(start, max(end, start), f"membership {status} after failed payment")
        end = membership.ended_at or membership.current_period_end or start
        return Window(start, max(end, start), f"membership {status}")
    if status == "paused":
        end = membership.trial_end or membership.current_period_start or start
        return Window(start, max(end, start), "membership paused: perks suspended")
    return None  # incomplete, incomplete_expired: never paid


def sync_membership_grants(membership) -> None:
    """Make the membership's grants match its state, auditing the change with its reason."""
    window = membership_window(membership)
    plan_perks = {perk.id: perk for perk in (membership.plan.perks if membership.plan else [])}
    existing = {
        grant.perk_id: grant
        for grant in db.session.scalars(
            select(PerkGrant).where(
                PerkGrant.source == GrantSource.membership,
                PerkGrant.source_ref == str(membership.id),
            )
        )
    }
    changed: list[dict[str, str | None]] = []
    for perk_id, perk in plan_perks.items():
        if window is None:
            continue
        grant = existing.get(perk_id)
        if grant is None:
            grant = PerkGrant(
                user_id=membership.user_id,
                perk_id=perk_id,
                source=GrantSource.membership,
                source_ref=str(membership.id),
                starts_at=window.starts_at,
            )
            db.session.add(grant)
        if _set_window(grant, window.starts_at, window.ends_at, window.reason):
            changed.append(_describe(perk.slug, grant))
    for perk_id, grant in existing.items():
        if perk_id in plan_perks and window is not None:
            continue
        # The plan no longer carries this perk, or the membership never opened anything.
        end = grant.starts_at if window is None else max(grant.starts_at, utcnow())
        if (grant.ends_at is None or grant.ends_at > end) and _set_window(
            grant, grant.starts_at, end, "no longer part of the plan"
        ):
            changed.append(_describe(grant.perk.slug, grant))
    if changed:
        audit.record("perk.window", "user", membership.user_id, source="membership",
                     membership=membership.id, grants=changed)  # fmt: skip


def _set_window(grant: PerkGrant, starts: datetime, ends: datetime | None, reason: str) -> bool:
    """Change a grant's window and reason; True when something changed."""
    if grant.id is not None and (grant.starts_at, grant.ends_at, grant.reason) == (
        starts,
        ends,
        reason,
    ):
        return False
    grant.starts_at, grant.ends_at, grant.reason = starts, ends, reason
    return True


def _describe(slug: str, grant: PerkGrant) -> dict[str, str | None]:
    """A grant's window for the audit log."""
    return {
        "perk": slug,
        "starts_at": grant.starts_at.isoformat(),
        "ends_at": grant.ends_at.isoformat() if grant.ends_at else None,
        "reason": grant.reason,
    }


def grant_complimentary(
    user: User, perk: Perk, until: datetime, staff: User, reason: str
) -> PerkGrant:
    """Give a reader a perk until a date, on the house."""
    now = utcnow()
    if until <= now:
        raise GrantError(_l("The end date must be in the future."))
    grant = PerkGrant(
        user_id=user.id,
        perk_id=perk.id,
        source=GrantSource.complimentary,
        source_ref=f"staff-{staff.id}-{int(now.timestamp() * 1000)}",
        starts_at=now,
        ends_at=until,
        reason=reason.strip()[:255] or "complimentary",
        granted_by_id=staff.id,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "perk.granted", "user", user.id, actor_id=staff.id, perk=perk.slug,
        until=until.isoformat(), reason=grant.reason,
    )  # fmt: skip
    return grant


def withdraw_grant(grant: PerkGrant, staff: User, reason: str) -> None:
    """End a grant now (complimentary ones; membership grants follow Stripe)."""
    if grant.source == GrantSource.membership:
        raise GrantError(_l("Membership perks follow the membership; cancel it instead."))
    if grant.revoked_at is not None:
        return
    grant.revoked_at = utcnow()
    grant.reason = (reason.strip() or "withdrawn by staff")[:255]
    audit.record(
        "perk.withdrawn", "user", grant.user_id, actor_id=staff.id, perk=grant.perk.slug,
        reason=grant.reason,
    )  # fmt: skip
