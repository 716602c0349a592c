"""`flask demo seed`: believable volume for the staff reports, fast."""

from __future__ import annotations

from sqlalchemy import func, select

from membership.admin import reports
from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import LedgerEntry


def test_seed_with_members_generates_history(app, runner):
    result = runner.invoke(args=["demo", "seed", "--members", "300"])
    assert result.exit_code == 0, result.output
    assert "300 members (" in result.output and "ledger rows over 24 months" in result.output
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(Membership.status, func.count()).group_by(Membership.status)
            ).all()
        )
        assert statuses["active"] > 100 and statuses["canceled"] > 10
        kinds = set(db.session.scalars(select(LedgerEntry.kind).distinct()))
        assert {"membership", "gift", "refund"} <= {k.value for k in kinds}
        period = reports.Period.default(months=24)
        assert sum(r.new for r in reports.movement(period)) > 100
        assert reports.mrr().current[0].mrr > 0


def test_first_plain_seed_adds_a_modest_volume_once(app, runner):
    # How long it takes is `make run`'s first-page figure (README), not a test's business.
    result = runner.invoke(args=["demo", "seed", "--once"])
    assert result.exit_code == 0, result.output
    assert "150 members (" in result.output
    again = runner.invoke(args=["demo", "seed"])
    assert "150 members" not in again.output  # only the first time
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) > 150
