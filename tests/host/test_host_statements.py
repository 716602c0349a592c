"""Statements equal the ledger: per outlet and month, opening balance plus gifts, refunds, fees,
host fee and grants is the closing balance, each month opens where the last closed, and the
lines of every outlet add up to the ledger's own sums, to the minor unit. HTML, CSV, PDF and
`flask host statements` write the same figures."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from membership.extensions import db
from membership.fundraisers.models import Campaign
from membership.host import accounts, documents, grants, hosts, statement_pdf, statements
from membership.host.models import OutletGrant
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry, LedgerFee

MONTHS = ["2026-10", "2026-11", "2026-12"]


def _at(month: str, day: int) -> datetime:
    year, mon = map(int, month.split("-"))
    return datetime(year, mon, day, 12, tzinfo=UTC)


@pytest.fixture
def history(app, campaign):
    """Three months of gifts (split and to one outlet), refunds, a lost dispute, fees and
    grants, written straight to the ledger with a fixed seed; the host takes 5 %."""
    rng = random.Random(17)
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        hosts.save_host(
            c,
            {"legal_name": "Media Support Foundation", "country": "DE", "fee_basis_points": 500},
            None,
        )
        outlets = list(c.outlets)
        n = 0
        for month in MONTHS:
            for day in range(1, 28, 3):
                n += 1
                outlet = rng.choice([None, None, *outlets])
                amount = rng.randint(500, 30_000)
                payment = ledger.record(
                    EntryKind.gift,
                    amount,
                    "eur",
                    f"pi_hist{n}",
                    _at(month, day),
                    payment_intent_id=f"pi_hist{n}",
                    campaign_id=c.id,
                    outlet_id=outlet.id if outlet else None,
                )
                fee = (amount * 325 + 5000) // 10000 + 25
                ledger.record_fee(
                    ledger.Fee(
                        f"txn_hist{n}",
                        f"ch_hist{n}",
                        "charge",
                        amount,
                        fee,
                        "eur",
                        None,
                        _at(month, day),
                    ),
                    payment,
                )
                if rng.random() < 0.3:  # a refund, possibly in the next month
                    back = rng.randint(1, amount)
                    later = MONTHS[min(MONTHS.index(month) + rng.randint(0, 1), 2)]
                    ledger.record(
                        EntryKind.refund,
                        -back,
                        "eur",
                        f"re_hist{n}",
                        _at(later, 28),
                        payment_intent_id=payment.payment_intent_id,
                        reverses_id=payment.id,
                        campaign_id=c.id,
                        outlet_id=payment.outlet_id,
                    )
                    ledger.record_fee(
                        ledger.Fee(
                            f"txn_re{n}",
                            f"re_hist{n}",
                            "refund",
                            -back,
                            0,
                            "eur",
                            None,
                            _at(later, 28),
                        ),
                        payment,
                    )
                elif rng.random() < 0.1:  # a lost dispute, with its fee
                    ledger.record(
                        EntryKind.dispute,
                        -amount,
                        "eur",
                        f"dp_hist{n}",
                        _at(month, day + 1),
                        payment_intent_id=payment.payment_intent_id,
                        reverses_id=payment.id,
                        campaign_id=c.id,
                        outlet_id=payment.outlet_id,
                    )
                    ledger.record_fee(
                        ledger.Fee(
                            f"txn_dp{n}",
                            f"dp_hist{n}",
                            "adjustment",
                            -amount,
                            2000,
                            "eur",
                            None,
                            _at(month, day + 1),
                        ),
                        payment,
                    )
            for outlet in outlets:
                grants.record_grant(
                    c,
                    outlet,
                    grants.GrantInput(
                        str(rng.randint(10, 200)), "eur", date.fromisoformat(f"{month}-15")
                    ),
                    grants.new_token(),
                    None,
                    date(2026, 12, 31),
                )
        db.session.commit()
    return campaign


def _statements(app, campaign_id):
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        return {
            (o.slug, month): statements.statement(c, o, statements.Period.parse(month))
            for o in c.outlets
            for month in MONTHS
        }


def test_statements_balance_and_chain_month_to_month(app, history):
    sts = _statements(app, history)
    for (slug, month), st in sts.items():
        (lines,) = st.lines
        assert lines.balanced, (slug, month, lines)
        if month != MONTHS[0]:
            previous = MONTHS[MONTHS.index(month) - 1]
            assert lines.opening == sts[(slug, previous)].lines[0].closing
    with app.app_context():
        c = db.session.get(Campaign, history)
        now = {a.outlet.slug: a for a in accounts.accounts(c)}
    for slug, account in now.items():
        assert sts[(slug, MONTHS[-1])].lines[0].closing == account.balance
        assert sts[(slug, MONTHS[0])].lines[0].opening == 0


def test_statement_totals_equal_the_ledger(app, history):
    sts = _statements(app, history).values()
    gross = sum(st.lines[0].gifts + st.lines[0].refunds for st in sts)
    fees = sum(st.lines[0].fees for st in sts)
    host_fee = sum(st.lines[0].host_fee for st in sts)
    granted = sum(st.lines[0].grants for st in sts)
    with app.app_context():
        ledger_gross = db.session.scalar(select(func.sum(LedgerEntry.amount)))
        ledger_fees = db.session.scalar(select(func.sum(LedgerFee.fee)))
        ledger_grants = db.session.scalar(select(func.sum(OutletGrant.amount)))
        payments = db.session.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.reverses_id.is_(None))
        )
    assert gross == ledger_gross
    assert sum(st.lines[0].gifts for st in sts) == payments
    assert fees == ledger_fees
    assert granted == ledger_grants
    assert host_fee == ledger_gross * 500 // 10_000  # 5 % of the gross, rounded down, shared
    closing = sum(st.lines[0].closing for st in sts if st.period.label == MONTHS[-1])
    assert closing == ledger_gross - ledger_fees - host_fee - ledger_grants


def test_csv_html_and_pdf_say_the_same(app, history):
    with app.app_context():
        c = db.session.get(Campaign, history)
        outlet = c.outlets[1]
        st = statements.statement(c, outlet, statements.Period.parse("2026-11"))
        rows = list(csv.DictReader(io.StringIO(statements.to_csv(st))))
        by_line = {
            r["line"]: int(r["amount_minor"]) for r in rows if r["line"] in statements.LINE_NAMES
        }
        assert by_line == {name: getattr(st.lines[0], name) for name in statements.LINE_NAMES}
        assert [r["line"] for r in rows].count("grant") == len(st.grants) == 1
        html = documents.to_html(st)
        assert "Media Support Foundation" in html and outlet.name in html
        assert 'data-line="closing">' in html
        text = "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(statement_pdf.render(st))).pages
        )
        assert outlet.name in text and "Media Support Foundation" in text


def test_host_statements_command_writes_every_outlet(app, runner, history, tmp_path):
    result = runner.invoke(
        args=["host", "statements", "--period", "2026-11", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("Wrote 3 statements for 2026-11")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 9 and all(n.startswith("statement-reporters-together-") for n in names)
    for bad in ("2026-13", "26-11", "november", ""):
        outcome = runner.invoke(args=["host", "statements", "--period", bad])
        assert outcome.exit_code == 2 and "--period must be a month" in outcome.output
