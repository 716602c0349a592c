"""The cancellation report: reasons and outcomes by month, counted by hand from requests with
known values; the page, its CSV, the member file, and the demo's months."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from membership.admin import cancellations, reports
from membership.billing.models import CancellationRequest
from membership.extensions import db
from tests.admin.conftest import add_membership, at
from tests.factories import make_user

Q1 = reports.Period(at(2026, 1, 1).date(), at(2026, 3, 31).date())


def add_request(membership, when, outcome="cancelled", reason=None, comment=None, months=None):
    row = CancellationRequest(
        user_id=membership.user_id, membership_id=membership.id, outcome=outcome, reason=reason,
        comment=comment, pause_months=months, created_at=when,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def asked(app):
    """January: 2 cancelled (too expensive; no reason), 1 paused for 2 months (a break);
    February: 1 kept with the offer (too expensive); March: none; April: 1 cancelled (outside)."""
    with app.app_context():
        users = [make_user(email=f"c{i}@example.org", name=f"C{i}").id for i in range(5)]
        m = [add_membership(u, "active") for u in users]
        add_request(m[0], at(2026, 1, 3), "cancelled", "too_expensive", "Prices went up.")
        add_request(m[1], at(2026, 1, 31, 23), "cancelled")
        add_request(m[2], at(2026, 1, 15), "paused", "break", months=2)
        add_request(m[3], at(2026, 2, 1, 0), "kept_with_offer", "too_expensive")
        add_request(m[4], at(2026, 4, 1, 0), "cancelled", "journalism", "Not for me.")
        db.session.commit()
        return users


def test_requests_count_once_by_month_outcome_and_reason(app, asked):
    with app.app_context():
        data = cancellations.counts(Q1)
    assert dict(data) == {
        ("2026-01", "cancelled", "too_expensive"): 1,
        ("2026-01", "cancelled", "none"): 1,
        ("2026-01", "paused", "break"): 1,
        ("2026-02", "kept_with_offer", "too_expensive"): 1,
    }


def test_staff_see_the_report_and_its_csv(app, asked, staff, client):
    page = client.get("/admin/reports/cancellations?start=2026-01-01&end=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cancellation reasons and outcomes" in html and "<svg" in html
    assert "It costs too much for me right now" in html and "No reason given" in html
    assert "Prices went up." in html and "Not for me." not in html  # April is outside
    from membership.admin.report_views import REPORTS  # loaded with the app's staff area

    with app.app_context():
        built = REPORTS["cancellations"].build(Q1)
    by_month = built.tables[0].rows
    assert by_month[0] == ["2026-01", 3, 2, 1, 0, Decimal("33.3")]
    assert by_month[1] == ["2026-02", 1, 0, 0, 1, Decimal("100.0")]
    assert by_month[2] == ["2026-03", 0, 0, 0, 0, None]
    assert "/admin/reports/cancellations" in client.get("/admin/reports").get_data(as_text=True)

    answer = client.get("/admin/reports/cancellations.csv?start=2026-01-01&end=2026-03-31")
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["month", "outcome", "reason", "requests"]
    assert sorted(rows[1:]) == [
        ["2026-01", "cancelled", "none", "1"],
        ["2026-01", "cancelled", "too_expensive", "1"],
        ["2026-01", "paused", "break", "1"],
        ["2026-02", "kept_with_offer", "too_expensive", "1"],
    ]


def test_the_member_file_lists_the_requests(app, asked, staff, client):
    html = client.get(f"/admin/members/{asked[2]}").get_data(as_text=True)
    assert "Paused for 2 months" in html and "I need a break for a while" in html


def test_members_cannot_see_the_report(app, auth, client):
    with app.app_context():
        make_user(email="m@example.org", name="M")
    auth.login(email="m@example.org")
    assert client.get("/admin/reports/cancellations").status_code == 403


def test_the_demo_spreads_reasons_and_outcomes_over_its_months(app, runner):
    result = runner.invoke(args=["demo", "seed", "--members", "400"])
    assert result.exit_code == 0, result.output
    assert "cancellation requests with reasons" in result.output
    with app.app_context():
        data = cancellations.counts(reports.Period.default(months=24))
    months = {m for m, _o, _r in data}
    outcomes = {o for _m, o, _r in data}
    reasons = {r for _m, _o, r in data}
    assert len(months) >= 12
    assert outcomes == {"cancelled", "paused", "kept_with_offer"}
    assert {"too_expensive", "not_reading", "break", "none"} <= reasons
