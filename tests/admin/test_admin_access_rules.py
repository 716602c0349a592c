"""Two staff members adding the same access rule at once: the second is told it exists."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from membership.access import rules as rule_service
from membership.access.models import AccessRule
from membership.audit import AuditEntry
from membership.extensions import db


class _RacingRule:
    """Stands in for AccessRule in the service: just before the new row is built, another staff
    member's identical rule commits on its own connection, after the duplicate check ran."""

    def __getattr__(self, name):
        return getattr(AccessRule, name)

    def __call__(self, **values):
        rule_service.AccessRule = AccessRule  # once: the page's list of rules reads the real model
        with db.engine.begin() as other:
            other.execute(
                insert(AccessRule.__table__).values(
                    kind=values["kind"], value=values["value"], perk_id=None,
                    note="added by the other staff member",
                )
            )  # fmt: skip
        return AccessRule(**values)


def test_a_rule_added_twice_at_once_is_a_friendly_refusal(app, catalogue, staff, auth, monkeypatch):
    monkeypatch.setattr(rule_service, "AccessRule", _RacingRule())
    data = {"kind": "slug", "value": "the-river-report", "perk": "members-only-articles",
            "note": "mine"}  # fmt: skip
    response = auth.post("/admin/access/rules", data)
    assert response.status_code == 400
    assert "A rule for that reference exists already." in response.get_data(as_text=True)
    with app.app_context():
        rules = db.session.execute(select(AccessRule.value, AccessRule.note)).all()
        assert rules == [("the-river-report", "added by the other staff member")]
        added = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "access.rule_added")
        )
        assert added == 0


def test_a_rule_is_still_added_and_audited(app, catalogue, staff, auth):
    data = {"kind": "tag", "value": "insider", "perk": "members-only-articles"}
    assert auth.post("/admin/access/rules", data).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(AccessRule.value)).all() == ["insider"]
        logged = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(
                AuditEntry.action == "access.rule_added"
            )
        ).all()
        assert logged == [("access.rule_added", staff)]
