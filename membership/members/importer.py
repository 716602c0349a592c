"""Importing a member file: plan each row against the database, then write it, a batch at a time.

A batch of rows is read, the accounts, Stripe customers and imported grants it names are looked
up in three queries, and every row gets an Outcome (create, update, unchanged, skip or error
with its reason) before anything is written. A real run then writes the batch's accounts, perks
and audit entries and calls `commit`: a row is written whole or not at all, a bad row is never
written, and an interrupted run keeps the batches it finished (running the file again finishes
it, since a second run changes nothing that the first one wrote). Memory holds one batch and the
addresses seen so far (to report a reader listed twice).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from membership.accounts.models import Role, User, new_session_token
from membership.accounts.services import UNUSABLE_PASSWORD
from membership.audit import AuditEntry
from membership.billing.models import Plan
from membership.extensions import db
from membership.members.formats import PLATFORM_NAMES, Bad, Catalogue, FileProblem, Row, day_text
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow

BATCH = 1000
MAX_LISTED = 1000  # problems kept for the summary; the counts cover every row
ACTIONS = ("create", "update", "unchanged", "skip", "error")


@dataclass(frozen=True)
class Change:
    """One thing a row changes: kind is account, consent, customer, name or perk; `value` is
    the customer id, or the perk's slug; `until` the perk's last day (empty: no end)."""

    kind: str
    value: str = ""
    until: str = ""

    def describe(self) -> str:
        """The change in words for staff, in the current language."""
        if self.kind == "account":
            return str(_l("new account"))
        if self.kind == "consent":
            return str(_l("e-mail consent kept"))
        if self.kind == "customer":
            return str(_l("linked to Stripe customer %(id)s", id=self.value))
        if self.kind == "name":
            return str(_l("name added"))
        if self.until:
            return str(_l("perk %(perk)s until %(day)s", perk=self.value, day=self.until))
        return str(_l("perk %(perk)s", perk=self.value))


@dataclass
class Outcome:
    """What importing one row does (or, in a dry run, would do)."""

    line: int
    email: str
    action: str  # one of ACTIONS
    changes: list[Change] = field(default_factory=list)
    reason: str = ""  # for skip and error: why
    name: str = ""  # as the file writes it, for the preview


@dataclass
class Summary:
    """Counts per action, and the rows with problems (the first MAX_LISTED)."""

    fmt: str
    dry_run: bool
    counts: Counter = field(default_factory=Counter)
    problems: list[Outcome] = field(default_factory=list)
    invited: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count an outcome; keep it when it is a problem."""
        self.counts[outcome.action] += 1
        if outcome.action in ("error", "skip") and len(self.problems) < MAX_LISTED:
            self.problems.append(outcome)

    @property
    def rows(self) -> int:
        """Rows read (blank lines aside)."""
        return sum(self.counts.values())

    def line(self) -> str:
        """One line for the end of a command."""
        words = DRY_WORDS if self.dry_run else DONE_WORDS
        parts = ", ".join(f"{self.counts[a]} {words[a]}" for a in ACTIONS if self.counts[a])
        invited = f", {self.invited} invited" if self.invited else ""
        dry = " Dry run: nothing was written." if self.dry_run else ""
        name = PLATFORM_NAMES[self.fmt]
        return f"{name} file, {self.rows} rows: {parts or 'none'}{invited}.{dry}"


DONE_WORDS = {"create": "created", "update": "updated", "unchanged": "unchanged",
              "skip": "skipped", "error": "with errors"}  # fmt: skip
DRY_WORDS = {"create": "to create", "update": "to update", "unchanged": "unchanged",
             "skip": "to skip", "error": "with errors"}  # fmt: skip


def catalogue() -> Catalogue:
    """The active perks and the plans' perks, as a file's tiers and perk names are read."""
    perks = {p.slug: p.id for p in db.session.scalars(select(Perk).where(Perk.active))}
    plans: dict[str, tuple[str, ...]] = {}
    default: tuple[str, ...] = ()
    for plan in db.session.scalars(select(Plan).order_by(Plan.position, Plan.id)):
        slugs = tuple(p.slug for p in plan.perks if p.active)
        plans.setdefault(plan.slug.casefold(), slugs)
        plans.setdefault(plan.name.strip().casefold(), slugs)
        if plan.active and not default:
            default = slugs
    return Catalogue(perks=perks, plans=plans, default=default)


Invite = Callable[[User], None]


def run(
    rows: Iterable[Row | Bad],
    fmt: str,
    cat: Catalogue,
    *,
    dry_run: bool,
    commit: Callable[[], None],
    actor_id: int | None = None,
    invite: Invite | None = None,
    on_row: Callable[[Outcome], None] | None = None,
    batch: int = BATCH,
) -> Summary:
    """Import `rows` (from formats.open_reader), calling `commit` after each batch written."""
    summary = Summary(fmt, dry_run)
    state = _FileState()
    pending: list[Row | Bad] = []
    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            _batch(pending, fmt, cat, state, summary, dry_run, commit, actor_id, invite, on_row)
            pending = []
    if pending:
        _batch(pending, fmt, cat, state, summary, dry_run, commit, actor_id, invite, on_row)
    return summary


@dataclass
class _FileState:
    """Across batches: which line each address and customer id was first seen on."""

    emails: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)


class ImportConflict(FileProblem):
    """Someone else wrote the same readers while this batch was written, twice in a row."""


def _batch(rows, fmt, cat, state, summary, dry_run, commit, actor_id, invite, on_row,
           retry: bool = True) -> None:  # fmt: skip
    """Plan one batch, write it unless this is a dry run, commit, report each row.

    A registration or another import that adds one of the batch's addresses (or customer ids)
    between the plan and the commit makes the insert fail: the batch is rolled back and planned
    again once, now seeing those accounts."""
    good = [r for r in rows if isinstance(r, Row)]
    users = _users_by_email([r.email for r in good])
    owners = _owners([r.customer for r in good if r.customer])
    grants = _imported_grants([u.id for u in users.values()], fmt)
    now = utcnow()
    planned: list[tuple[Outcome, Row | None, User | None]] = []
    for row in rows:
        if isinstance(row, Bad):
            planned.append((Outcome(row.line, row.email, "error", reason=row.reason), None, None))
            continue
        outcome = _plan(row, users.get(row.email), owners, grants, cat, state, now)
        outcome.name = row.name
        planned.append((outcome, row, users.get(row.email)))
    if not dry_run:
        try:
            invited = _write(planned, fmt, cat, grants, now, actor_id, invite)
            commit()
        except IntegrityError as exc:
            db.session.rollback()
            if not retry:
                raise ImportConflict(str(_l(
                    "Other changes to the same readers came in while importing; nothing of "
                    "lines %(first)d to %(last)d was written. Run the import again.",
                    first=rows[0].line, last=rows[-1].line,
                ))) from exc  # fmt: skip
            _batch(rows, fmt, cat, state, summary, dry_run, commit, actor_id, invite, on_row,
                   retry=False)  # fmt: skip
            return
        summary.invited += invited
    for outcome, _, _ in planned:
        summary.add(outcome)
        if on_row is not None:
            on_row(outcome)


def _users_by_email(emails: list[str]) -> dict[str, User]:
    if not emails:
        return {}
    found = db.session.scalars(select(User).where(User.email.in_(sorted(set(emails)))))
    return {user.email: user for user in found}


def _owners(customers: list[str]) -> dict[str, str]:
    """Stripe customer id -> the address of the account that has it."""
    if not customers:
        return {}
    rows = db.session.execute(
        select(User.stripe_customer_id, User.email).where(
            User.stripe_customer_id.in_(sorted(set(customers)))
        )
    )
    return {customer: address for customer, address in rows}


def source_ref(fmt: str) -> str:
    """What an imported grant's source_ref says: which kind of file it came from."""
    return f"import:{fmt}"


def _imported_grants(user_ids: list[int], fmt: str) -> dict[tuple[int, int], PerkGrant]:
    """The complimentary grants earlier imports of this format made, by (user, perk)."""
    if not user_ids:
        return {}
    found = db.session.scalars(
        select(PerkGrant).where(
            PerkGrant.user_id.in_(sorted(set(user_ids))),
            PerkGrant.source == GrantSource.complimentary,
            PerkGrant.source_ref == source_ref(fmt),
        )
    )
    return {(g.user_id, g.perk_id): g for g in found}


def _plan(row, user, owners, grants, cat, state, now) -> Outcome:
    """What the row does to the database; changes nothing."""
    first = state.emails.setdefault(row.email, row.line)
    if first != row.line:
        return _error(row, _l("The same address as line %(line)d.", line=first))
    if row.skip:
        return Outcome(row.line, row.email, "skip", reason=row.skip)
    changes: list[Change] = []
    if row.customer:
        seen = state.customers.setdefault(row.customer, row.line)
        owner = owners.get(row.customer)
        if seen != row.line:
            return _error(row, _l("Stripe customer %(id)s is on line %(line)d too.",
                                  id=row.customer, line=seen))  # fmt: skip
        if owner is not None and owner != row.email:
            return _error(row, _l("Stripe customer %(id)s belongs to another account.",
                                  id=row.customer))  # fmt: skip
        if user is not None and user.stripe_customer_id not in (None, row.customer):
            return _error(row, _l("The account is linked to another Stripe customer (%(id)s).",
                                  id=user.stripe_customer_id))  # fmt: skip
        if user is None or user.stripe_customer_id is None:
            changes.append(Change("customer", row.customer))
    if user is not None and user.deleted_at is not None:
        return Outcome(row.line, row.email, "skip", reason=str(_l("The account was deleted.")))
    if user is None:
        changes[:0] = [Change("account")] + ([Change("consent")] if row.consent else [])
    elif row.name and not user.name:
        changes.append(Change("name"))
    for slug, end in row.perks:
        if end is not None and end <= now:
            continue  # paid for a period that is over
        grant = grants.get((user.id, cat.perks[slug])) if user is not None else None
        if grant is None or (grant.revoked_at is None and grant.ends_at != end):
            changes.append(Change("perk", slug, day_text(end) if end else ""))
    if user is None:
        return Outcome(row.line, row.email, "create", changes)
    return Outcome(row.line, row.email, "update" if changes else "unchanged", changes)


def _error(row: Row, message) -> Outcome:
    return Outcome(row.line, row.email, "error", reason=str(message))


def _write(planned, fmt, cat, grants, now, actor_id, invite) -> int:
    """Write the batch's creates and updates (flushed, not committed); returns invitations."""
    platform = PLATFORM_NAMES[fmt]
    creates = [(o, r) for o, r, u in planned if o.action == "create"]
    audits: list[dict[str, Any]] = []
    new_grants: list[dict[str, Any]] = []
    new_ids: list[int] = []
    if creates:
        values = [_account(r, now) for _, r in creates]
        ids = db.session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True), values
        ).scalars()
        for (_, row), user_id in zip(creates, ids, strict=True):
            new_ids.append(user_id)
            audits.append(_audit("account.imported", user_id, actor_id, now, source=platform,
                                 line=row.line, email_consent=row.consent,
                                 stripe_customer=row.customer))  # fmt: skip
            for slug, end in row.perks:
                if end is None or end > now:
                    new_grants.append(_grant(user_id, cat.perks[slug], fmt, row, end, now,
                                             actor_id))  # fmt: skip
                    audits.append(_perk_audit(user_id, slug, end, row, platform, actor_id, now))
    for outcome, row, user in planned:
        if outcome.action != "update":
            continue
        if row.customer and user.stripe_customer_id is None:
            user.stripe_customer_id = row.customer
        if row.name and not user.name:
            user.name = row.name
        for slug, end in row.perks:
            if end is not None and end <= now:
                continue
            grant = grants.get((user.id, cat.perks[slug]))
            if grant is None:
                new_grants.append(_grant(user.id, cat.perks[slug], fmt, row, end, now, actor_id))
            elif grant.revoked_at is None and grant.ends_at != end:
                grant.ends_at, grant.reason = end, _reason(platform, row)
            else:
                continue
            audits.append(_perk_audit(user.id, slug, end, row, platform, actor_id, now))
        audits.append(_audit("account.import_updated", user.id, actor_id, now, source=platform,
                             line=row.line, changes=[c.kind for c in outcome.changes]))  # fmt: skip
    if new_grants:
        db.session.execute(insert(PerkGrant), new_grants)
    if audits:
        db.session.execute(insert(AuditEntry), audits)
    db.session.flush()
    if invite is None or not new_ids:
        return 0
    for user in db.session.scalars(select(User).where(User.id.in_(new_ids))):
        invite(user)
    return len(new_ids)


def _account(row: Row, now: datetime) -> dict[str, Any]:
    """A new reader's row: no password (they sign in by link or set one through a reset)."""
    return {
        "email": row.email,
        "password_hash": UNUSABLE_PASSWORD,
        "name": row.name,
        "locale": row.locale or "en",
        "role": Role.member,
        "email_consent": row.consent,
        "stripe_customer_id": row.customer,
        "session_token": new_session_token(),
        "reset_generation": 0,
        "created_at": row.created_at or now,
    }


def _reason(platform: str, row: Row) -> str:
    return f"imported from {platform}" + (f": {row.note}" if row.note else "")


def _grant(user_id, perk_id, fmt, row, end, now, actor_id) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "perk_id": perk_id,
        "source": GrantSource.complimentary,
        "source_ref": source_ref(fmt),
        "starts_at": now,
        "ends_at": end,
        "reason": _reason(PLATFORM_NAMES[fmt], row)[:255],
        "granted_by_id": actor_id,
        "created_at": now,
        "updated_at": now,
    }


def _perk_audit(user_id, slug, end, row, platform, actor_id, now) -> dict[str, Any]:
    until = end.isoformat() if end else None
    return _audit("perk.granted", user_id, actor_id, now, perk=slug, source=platform,
                  until=until, reason=_reason(platform, row))  # fmt: skip


def _audit(action, user_id, actor_id, now, **details) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "action": action,
        "target_type": "user",
        "target_id": str(user_id),
        "details": details,
        "created_at": now,
    }
