"""The demo shows an imported batch: readers from Ghost and Substack, once."""

from __future__ import annotations

from sqlalchemy import func, select

from membership.audit import AuditEntry
from membership.extensions import db
from tests.members.conftest import grants_of, user


def test_demo_has_readers_imported_from_ghost_and_substack(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "6 readers imported from Ghost and Substack" in result.output
    assert user(app, "armen@example.org").name == "Արմեն Սարգսյան"
    assert {source for _, source, _ in grants_of(app, "armen@example.org")} == {"complimentary"}
    assert [end is not None for _, _, end in grants_of(app, "gohar@example.org")] == [True, True]
    assert user(app, "levan@example.org").email_consent is False
    with app.app_context():
        sources = db.session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "account.imported")
        ).all()
    assert sorted(d["source"] for d in sources) == ["Ghost"] * 4 + ["Substack"] * 2

    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "imported" not in again.output
    with app.app_context():
        count = select(func.count()).where(AuditEntry.action == "account.imported")
        assert db.session.scalar(count) == 6
