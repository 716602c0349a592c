"""Every report figure against numbers worked out by hand from rows inserted with known values."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from membership.admin import reports
from membership.billing.models import Plan
from membership.extensions import db
from membership.ledger.models import EntryKind
from membership.timeutil import utcnow
from tests.admin.conftest import add_entry, add_membership, at
from tests.factories import make_user

Q1 = reports.Period(at(2026, 1, 1).date(), at(2026, 3, 31).date())


@pytest.fixture
def book(app, catalogue):
    """Eight memberships and a handful of ledger rows; the expected figures are in each test."""
    with app.app_context():
        plans = {p.slug: p.id for p in db.session.scalars(select(Plan))}
        sup, ins = plans["supporter"], plans["insider"]
        u = [make_user(email=f"m{i}@example.org", name=f"M{i}").id for i in range(8)]
        now = utcnow()
        a = add_membership(
            u[0], "active", "month", 500, plan_id=sup, started=at(2026, 1, 5), ref="art-1"
        )
        b = add_membership(
            u[1], "active", "year", 12000, plan_id=ins, started=at(2026, 2, 10), ref="art-1"
        )
        c = add_membership(
            u[2],
            "past_due",
            "month",
            1200,
            plan_id=sup,
            started=at(2026, 1, 20),
            ref="art-2",
            past_due_since=now - timedelta(days=2),
        )
        add_membership(
            u[3],
            "past_due",
            "month",
            500,
            plan_id=sup,
            started=at(2025, 12, 1),
            past_due_since=now - timedelta(days=30),
        )
        add_membership(
            u[4],
            "canceled",
            "month",
            500,
            plan_id=sup,
            started=at(2025, 11, 15),
            canceled_at=at(2026, 2, 1),
            ended_at=at(2026, 3, 1),
        )
        add_membership(u[5], "trialing", "month", 1200, plan_id=ins, started=at(2026, 3, 1))
        add_membership(u[6], "incomplete", "month", 500, plan_id=sup, started=at(2026, 2, 15))
        add_membership(u[7], "active", "month", 1000, currency="usd", started=at(2026, 2, 1))
        add_entry(EntryKind.membership, 500, at(2026, 1, 5), user_id=u[0], membership_id=a.id)
        add_entry(EntryKind.membership, 1200, at(2026, 1, 20), user_id=u[2], membership_id=c.id)
        add_entry(EntryKind.gift, 2500, at(2026, 1, 8), user_id=u[0])
        add_entry(EntryKind.offline, 10000, at(2026, 1, 31, 23))
        add_entry(EntryKind.membership, 12000, at(2026, 2, 10), user_id=u[1], membership_id=b.id)
        add_entry(EntryKind.monthly_gift, 300, at(2026, 2, 11))
        add_entry(EntryKind.refund, -500, at(2026, 2, 12), user_id=u[0])
        add_entry(EntryKind.dispute, -1200, at(2026, 3, 31, 23), user_id=u[2])
        add_entry(EntryKind.membership, 1000, at(2026, 2, 1), currency="usd", user_id=u[7])
        add_entry(EntryKind.gift, 99999, at(2025, 12, 31, 23))  # before the period
        add_entry(EntryKind.gift, 77777, at(2026, 4, 1, 0))  # after it
        db.session.commit()


def test_mrr_spreads_yearly_plans_over_twelve_months(app, book):
    with app.app_context():
        data = reports.mrr(period=Q1)
    # eur paying (active, past due): 500*12 + 12000 + 1200*12 + 500*12 = 38400 a year
    assert [(r.currency, r.memberships, r.arr, r.mrr) for r in data.current] == [
        ("eur", 4, 38400, 3200),
        ("usd", 1, 12000, 1000),
    ]
    # history: 12000 at Jan 1 (two from 2025) +20400 in Jan, +12000 in Feb, -6000 ended in Mar
    assert data.history["eur"] == [("2026-01", 2700), ("2026-02", 3700), ("2026-03", 3200)]
    assert data.history["usd"] == [("2026-01", 0), ("2026-02", 1000), ("2026-03", 1000)]


def test_new_cancelled_churned_and_the_churn_rate(app, book):
    with app.app_context():
        rows = reports.movement(Q1)
    assert [(r.month, r.live_at_start, r.new, r.cancelled, r.churned, r.live_at_end, r.churn_rate)
            for r in rows] == [
        ("2026-01", 2, 2, 0, 0, 4, Decimal("0.0")),
        ("2026-02", 4, 2, 1, 0, 6, Decimal("0.0")),
        ("2026-03", 6, 1, 0, 1, 6, Decimal("16.7")),
    ]  # fmt: skip


def test_revenue_per_month_by_source(app, book):
    with app.app_context():
        data = reports.revenue(Q1)
    eur = [(r.month, r.membership, r.gift, r.monthly_gift, r.offline, r.refunds, r.net)
           for r in data["eur"]]  # fmt: skip
    assert eur == [
        ("2026-01", 1700, 2500, 0, 10000, 0, 14200),
        ("2026-02", 12000, 0, 300, 0, -500, 11800),
        ("2026-03", 0, 0, 0, 0, -1200, -1200),
    ]
    assert [(r.month, r.membership, r.net) for r in data["usd"]] == [
        ("2026-01", 0, 0), ("2026-02", 1000, 1000), ("2026-03", 0, 0),
    ]  # fmt: skip


def test_members_by_status_and_plan(app, book):
    with app.app_context():
        data = reports.members_by_status()
    assert [(r.status, r.plan, r.count) for r in data.rows] == [
        ("active", "Insider", 1), ("active", "Supporter", 1), ("active", "—", 1),
        ("canceled", "Supporter", 1), ("incomplete", "Supporter", 1),
        ("past_due", "Supporter", 2), ("trialing", "Insider", 1),
    ]  # fmt: skip
    assert data.by_status["past_due"] == 2 and data.total == 8


def test_failed_payments_and_grace(app, book):
    with app.app_context():
        data = reports.grace(period=Q1)
    assert (data.in_grace_count, data.beyond_grace_count) == (1, 1)
    assert [r.email for r in data.in_grace] == ["m2@example.org"]
    assert data.in_grace[0].grace_ends == data.in_grace[0].past_due_since + timedelta(days=7)


def test_conversions_by_article(app, book):
    with app.app_context():
        rows = reports.conversions(Q1)
    assert [(r.ref, r.joins, r.still_live, r.arr) for r in rows] == [
        ("", 2, 2, {"eur": 14400, "usd": 12000}),
        ("art-1", 2, 2, {"eur": 18000}),
        ("art-2", 1, 1, {"eur": 14400}),
    ]


def test_dashboard_headline(app, client, book, staff):
    page = client.get("/admin/").get_data(as_text=True)
    assert '<span class="figure" id="stat-members">8</span>' in page
    assert '<span class="figure" id="stat-live">6</span>' in page  # active, past due, trialing
    assert '<span class="figure" id="stat-grace">1</span>' in page
    assert '<span class="figure" id="stat-mrr-eur">€32.00</span>' in page
    assert "<svg" in page and "style=" not in page


def test_report_pages_render_a_table_and_a_chart(app, client, book, staff):
    for slug in ("members", "movement", "mrr", "revenue", "grace", "conversions"):
        response = client.get(f"/admin/reports/{slug}?start=2026-01-01&end=2026-03-31")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, slug
        assert "<svg" in page and "<table" in page, slug
    page = client.get("/admin/reports/revenue?start=2026-01-01&end=2026-03-31").get_data(True)
    assert "€142.00" in page and "-€12.00" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [("start=yesterday", "Not a valid date value."),
     ("start=2026-02-30", "Not a valid date value."),
     ("start=2026-03-01&end=2026-01-01", "The end comes before the start."),
     ("start=1900-01-01&end=2026-01-01", "Ten years at most.")],
)  # fmt: skip
def test_bad_dates_answer_400_not_500(client, staff, query, message):
    for path in ("/admin/reports/revenue", "/admin/reports/revenue.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.get_data(as_text=True), path  # the form says what is wrong
    unknown = client.get("/admin/reports/nope")
    assert unknown.status_code == 404
    assert "Page not found" in unknown.get_data(as_text=True)


def test_report_csv_has_decimal_amounts_a_currency_and_minor_units(app, client, book, staff):
    response = client.get("/admin/reports/revenue.csv?start=2026-01-01&end=2026-03-31")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["month", "currency", "memberships", "gifts", "monthly_gifts", "offline",
                       "refunds", "net", "memberships_minor", "gifts_minor", "monthly_gifts_minor",
                       "offline_minor", "refunds_minor", "net_minor"]  # fmt: skip
    assert ["2026-01", "eur", "17.00", "25.00", "0.00", "100.00", "0.00", "142.00",
            "1700", "2500", "0", "10000", "0", "14200"] in rows  # fmt: skip
    assert len(rows) == 1 + 3 + 3


def test_member_csv_is_streamed_and_defuses_formulas(app, client, staff):
    with app.app_context():
        make_user(email="evil@example.org", name='=HYPERLINK("http://x","click")')
        make_user(email="plain@example.org", name="-5 apples")
    response = client.get("/admin/members.csv")
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["id", "email", "name", "role"]
    names = {row[1]: row[2] for row in rows[1:]}
    assert names["evil@example.org"] == '\'=HYPERLINK("http://x","click")'
    assert names["plain@example.org"] == "'-5 apples"
    assert len(rows) == 1 + 3  # the staff account too


def test_a_period_ending_on_the_last_representable_day_answers_400(client, staff):
    # The exclusive bound is the day after the end: 9999-12-31 has none.
    cases = {
        "start=9999-01-01&end=9999-12-31": "Pick an earlier end.",
        "start=9999-12-31": "The end comes before the start.",  # the default end is this month's
    }
    for query, message in cases.items():
        for path in ("/admin/reports/mrr", "/admin/reports/mrr.csv"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            assert message in response.get_data(as_text=True), (path, query)


def test_mrr_csv_history_gives_the_exact_arr_not_rounded_mrr_times_twelve(app, client, staff):
    with app.app_context():
        user_id = make_user(email="y@example.org").id
        add_membership(user_id, "active", "year", 10000, started=at(2026, 1, 5))
        db.session.commit()
    response = client.get("/admin/reports/mrr.csv?start=2026-01-01&end=2026-01-31")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    # 100.00 a year: MRR rounds to 8.33, but ARR stays 100.00 (not 8.33 x 12 = 99.96).
    assert rows[0] == ["month", "currency", "paying_memberships", "mrr", "arr", "mrr_minor",
                       "arr_minor"]  # fmt: skip
    assert ["2026-01", "eur", "", "8.33", "100.00", "833", "10000"] in rows
