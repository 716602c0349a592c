"""`flask stripe reconcile` compares fees with Stripe's balance transactions: a lost fee is
recorded beside its payment, a fee that differs and one Stripe does not list are printed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from membership.extensions import db
from membership.ledger import services as ledger
from membership.ledger.models import LedgerEntry, LedgerFee
from tests.host.conftest import fee_rows, pay_gift, transparency_json


def test_reconcile_mends_lost_fees_and_prints_differences(
    app, client, runner, campaign, stripe_world
):
    pay_gift(app, stripe_world, campaign, "25")
    pay_gift(app, stripe_world, campaign, "40", outlet="river-daily")
    stripe_world.deliver()
    before = sorted(fee_rows(app))
    assert len(before) == 2
    with app.app_context():
        lost, changed = db.session.scalars(select(LedgerFee.id).order_by(LedgerFee.id)).all()
        db.session.execute(delete(LedgerFee).where(LedgerFee.id == lost))
        db.session.execute(update(LedgerFee).where(LedgerFee.id == changed).values(fee=1))
        payment = db.session.scalar(select(LedgerEntry).limit(1))
        ledger.record_fee(
            ledger.Fee(
                "txn_nowhere",
                "ch_nowhere",
                "charge",
                100,
                7,
                "eur",
                None,
                datetime(2026, 12, 1, tzinfo=UTC),
            ),
            payment,
        )
        db.session.commit()
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(line.startswith("mended: fee txn_") for line in lines) == 1
    differs = [line for line in lines if line.startswith("fee differs: ")]
    assert len(differs) == 2
    assert any("ledger €0.01, Stripe €" in line for line in differs)
    assert any("txn_nowhere: in the ledger, not at Stripe" in line for line in differs)
    assert "(2 fee differences)" in lines[-1]
    assert len(fee_rows(app)) == 3  # the lost one is back; nothing was overwritten
    again = runner.invoke(args=["stripe", "reconcile"])
    assert sum(line.startswith("mended: fee") for line in again.output.splitlines()) == 0
    assert transparency_json(client)["fees"] == sum(f for *_, f, _c in fee_rows(app))
