"""Access rules as staff keep them: which perk articles of an id, slug, tag or path need."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from membership import audit
from membership.access.models import AccessRule, RuleKind
from membership.access.services import PRECEDENCE, AccessError, normalize_rule_value
from membership.accounts.models import User
from membership.extensions import db
from membership.perks.models import Perk


def list_rules() -> list[AccessRule]:
    """Every rule, most specific kind first."""
    rules = list(db.session.scalars(select(AccessRule)))
    return sorted(rules, key=lambda r: (PRECEDENCE[r.kind], r.value))


def add_rule(kind: RuleKind, value: str, perk: Perk | None, note: str, staff: User) -> AccessRule:
    """Say which perk articles matching kind/value need (None: explicitly open)."""
    from sqlalchemy.exc import IntegrityError  # local: this change is kept to add_rule

    value = normalize_rule_value(kind, value)
    duplicate = _l("A rule for that reference exists already.")
    exists = db.session.scalar(
        select(AccessRule.id).where(AccessRule.kind == kind, AccessRule.value == value)
    )
    if exists is not None:
        raise AccessError(duplicate)
    rule = AccessRule(
        kind=kind,
        value=value,
        perk_id=perk.id if perk else None,
        note=(note or "").strip()[:255],
        created_by_id=staff.id,
    )
    # Another staff member may add the same rule between the check and this insert: the unique
    # constraint then refuses it inside a savepoint, so the transaction stays usable and the
    # outcome is the same as the check's, with nothing written and nothing audited.
    try:
        with db.session.begin_nested():
            db.session.add(rule)
    except IntegrityError as exc:
        raise AccessError(duplicate) from exc
    audit.record(
        "access.rule_added", "access_rule", rule.id, actor_id=staff.id, kind=kind.value,
        value=value, perk=perk.slug if perk else None,
    )  # fmt: skip
    return rule


def delete_rule(rule: AccessRule, staff: User) -> None:
    """Remove a rule: its articles fall back to less specific rules, or open."""
    audit.record(
        "access.rule_deleted", "access_rule", rule.id, actor_id=staff.id, kind=rule.kind.value,
        value=rule.value,
    )  # fmt: skip
    db.session.delete(rule)
    db.session.flush()
