"""The payment recovery funnel: figures worked out by hand from recoveries with known outcomes,
the page and its CSV, and one funnel made by the sandbox end to end."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from membership.admin import recovery, reports
from membership.billing.models import PaymentRecovery
from membership.extensions import db
from membership.timeutil import utcnow
from tests.admin.conftest import add_membership, at
from tests.factories import make_user

Q1 = reports.Period(at(2026, 1, 1).date(), at(2026, 3, 31).date())
GRACE = timedelta(days=7)


def add_recovery(membership, failed_at, status="failing", amount=500, currency="eur",
                 paid_after=None, ended_after=None) -> PaymentRecovery:  # fmt: skip
    """A recovery as the handlers leave it (call in an app context)."""
    row = PaymentRecovery(
        stripe_invoice_id=f"in_t{membership.id}_{failed_at:%m%d}",
        membership_id=membership.id,
        user_id=membership.user_id,
        amount_due=amount,
        currency=currency,
        failed_at=failed_at,
        grace_ends_at=failed_at + GRACE,
        status=status,
        recovered_at=failed_at + paid_after if paid_after is not None else None,
        amount_recovered=amount if status == "recovered" else 0,
        ended_at=failed_at + ended_after if ended_after is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def failures(app):
    """January: 4 failures (2 recovered within grace, 1 later, 1 lost); February: 1 lost,
    1 failing past its grace (lost too); March: none in EUR, one in GEL recovered; and one
    failing now, still in grace, dated today (outside Q1)."""
    with app.app_context():
        users = [make_user(email=f"f{i}@example.org", name=f"F{i}").id for i in range(8)]
        m = [add_membership(u, "past_due") for u in users]
        add_recovery(m[0], at(2026, 1, 3), "recovered", 500, paid_after=timedelta(days=2))
        add_recovery(m[1], at(2026, 1, 10), "recovered", 1200, paid_after=GRACE)  # on the edge
        add_recovery(m[2], at(2026, 1, 20), "recovered", 500, paid_after=timedelta(days=9))
        add_recovery(m[3], at(2026, 1, 31, 23), "lost", 500, ended_after=timedelta(days=15))
        add_recovery(m[4], at(2026, 2, 1, 0), "lost", 1200, ended_after=timedelta(days=3))
        add_recovery(m[5], at(2026, 2, 14), "failing", 500)
        add_recovery(m[6], at(2026, 3, 5), "recovered", 2000, "gel", paid_after=timedelta(1))
        add_recovery(m[7], utcnow() - timedelta(days=1), "failing", 500)
        db.session.commit()


def test_the_funnel_counts_each_failure_once_by_month_and_outcome(app, failures):
    with app.app_context():
        data = recovery.funnel(Q1)
    assert list(data.rows) == ["eur", "gel"]
    jan, feb, mar = data.rows["eur"]
    assert (jan.month, jan.failed, jan.recovered_in_grace, jan.recovered_later, jan.lost,
            jan.in_grace) == ("2026-01", 4, 2, 1, 1, 0)  # fmt: skip
    assert (jan.amount_failed, jan.amount_recovered, jan.amount_lost) == (2700, 2200, 500)
    assert jan.rate == Decimal("50.0")
    assert (feb.failed, feb.recovered_in_grace, feb.lost, feb.in_grace) == (2, 0, 2, 0)
    assert (feb.amount_recovered, feb.amount_lost, feb.rate) == (0, 1700, Decimal("0.0"))
    assert (mar.failed, mar.rate) == (0, None)
    gel = data.rows["gel"]
    assert [(r.month, r.failed, r.recovered_in_grace, r.amount_recovered) for r in gel] == [
        ("2026-01", 0, 0, 0), ("2026-02", 0, 0, 0), ("2026-03", 1, 1, 2000),
    ]  # fmt: skip


def test_a_failure_still_in_grace_is_neither_recovered_nor_lost(app, failures):
    days = reports.Period(utcnow().date() - timedelta(days=1), utcnow().date())
    with app.app_context():
        (row,) = [r for r in recovery.funnel(days).rows["eur"] if r.failed]
        assert (row.failed, row.in_grace, row.lost) == (1, 1, 0)
        # Once its grace period is over unpaid, the same failure counts as lost.
        later = recovery.funnel(days, now=utcnow() + GRACE)
        (row,) = [r for r in later.rows["eur"] if r.failed]
        assert (row.failed, row.in_grace, row.lost, row.amount_lost) == (1, 0, 1, 500)


def test_staff_see_the_funnel_page_and_its_csv(app, failures, staff, client):
    page = client.get("/admin/reports/recovery?start=2026-01-01&end=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Payment recovery" in html and "Recovered within grace" in html
    assert "€22.00" in html and "€17.00" in html and '<td class="num">50</td>' in html
    assert "<svg" in html
    nav = client.get("/admin/reports").get_data(as_text=True)
    assert "/admin/reports/recovery" in nav

    answer = client.get("/admin/reports/recovery.csv?start=2026-01-01&end=2026-03-31")
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0][:3] == ["month", "currency", "failed"]
    assert rows[0][8:] == ["amount_failed", "amount_recovered", "amount_lost",
                           "amount_failed_minor", "amount_recovered_minor",
                           "amount_lost_minor"]  # fmt: skip
    assert rows[1] == ["2026-01", "eur", "4", "2", "1", "1", "0", "50.0", "27.00", "22.00", "5.00",
                       "2700", "2200", "500"]  # fmt: skip
    assert rows[2] == ["2026-02", "eur", "2", "0", "0", "2", "0", "0.0", "17.00", "0.00", "17.00",
                       "1700", "0", "1700"]  # fmt: skip


def test_members_cannot_see_the_funnel(app, auth, client):
    with app.app_context():
        make_user(email="m@example.org", name="M")
    auth.login(email="m@example.org")
    assert client.get("/admin/reports/recovery").status_code == 403


def test_the_demo_volume_fills_the_funnel_over_its_months(app, runner):
    result = runner.invoke(args=["demo", "seed", "--members", "400"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = recovery.funnel(reports.Period.default(months=24)).rows["eur"]
    assert sum(1 for r in rows if r.failed) >= 6  # failures spread over the months
    assert sum(r.recovered_in_grace for r in rows) > 0 and sum(r.lost for r in rows) > 0
    assert sum(r.amount_recovered for r in rows) > 0
    for r in rows:
        assert r.failed == r.recovered_in_grace + r.recovered_later + r.lost + r.in_grace
