"""Conversions by source beside the one by article, and where a member came from on their file."""

from __future__ import annotations

import csv
import io

from membership.admin import reports
from membership.attribution import Attribution
from membership.extensions import db
from tests.admin.conftest import add_membership, at
from tests.factories import make_user

MARCH = reports.Period(at(2026, 3, 1).date(), at(2026, 3, 31).date())


def _joined(email: str, touch: dict | None, status="active", amount=500, currency="eur",
            started=None):  # fmt: skip
    user_id = make_user(email=email).id
    m = add_membership(user_id, status, amount=amount, currency=currency,
                       started=started or at(2026, 3, 10))  # fmt: skip
    if touch is not None:
        db.session.add(Attribution(membership_id=m.id, **touch))
        db.session.add(Attribution(user_id=user_id, **touch))
    db.session.flush()
    return user_id


def _book(app):
    with app.app_context():
        news = {"source": "newsletter", "medium": "email", "campaign": "spring"}
        _joined("a@example.org", news)
        _joined("b@example.org", news, status="canceled", amount=1000)
        _joined("c@example.org", {"referrer": "news.example.org", "ref": "housing"})
        _joined("d@example.org", None)  # direct
        _joined("e@example.org", news, started=at(2026, 2, 10))  # February: outside
        _joined("f@example.org", news, status="incomplete_expired")  # never paid: no join
        _joined("g@example.org", {"source": "newsletter", "medium": "email", "campaign": "spring"},
                amount=2000, currency="jpy")  # fmt: skip
        db.session.commit()


def test_conversions_by_source_group_utm_tags_then_referrers_then_direct(app):
    _book(app)
    with app.app_context():
        found = [(r.source, r.medium, r.campaign, r.joins, r.still_live, r.arr)
                 for r in reports.conversions_by_source(MARCH)]  # fmt: skip
    assert found == [
        ("newsletter", "email", "spring", 3, 2, {"eur": 18000, "jpy": 24000}),
        ("", "", "", 1, 1, {"eur": 6000}),
        ("news.example.org", "referral", "", 1, 1, {"eur": 6000}),
    ]


def test_source_report_page_and_csv_beside_the_article_one(app, client, staff):
    _book(app)
    index = client.get("/admin/reports").get_data(as_text=True)
    assert index.index("/admin/reports/conversions") < index.index("/admin/reports/sources")
    page = client.get("/admin/reports/sources?start=2026-03-01&end=2026-03-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Conversions by source" in html and "<svg" in html
    assert "newsletter" in html and "news.example.org" in html and "(direct or unknown)" in html
    assert "referral" in html and "€180.00" in html
    answer = client.get("/admin/reports/sources.csv?start=2026-03-01&end=2026-03-31")
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["source", "medium", "campaign", "currency", "joins", "still_live", "arr",
                       "arr_minor"]  # fmt: skip
    assert ["newsletter", "email", "spring", "eur", "3", "2", "180.00", "18000"] in rows
    assert ["newsletter", "email", "spring", "jpy", "3", "2", "24000", "24000"] in rows
    assert ["news.example.org", "referral", "", "eur", "1", "1", "60.00", "6000"] in rows


def test_member_file_says_where_the_member_came_from(app, client, staff):
    with app.app_context():
        user_id = _joined("a@example.org", {"source": "newsletter", "medium": "email",
                                            "campaign": "spring", "ref": "housing",
                                            "referrer": "news.example.org",
                                            "landing": "/plans"})  # fmt: skip
        plain = _joined("b@example.org", None)
        db.session.commit()
    html = client.get(f"/admin/members/{user_id}").get_data(as_text=True)
    line = ("newsletter / email / spring · linked from news.example.org · article housing · "
            "landed on /plans")  # fmt: skip
    assert html.count(line) == 2  # the signup, and the membership's first payment
    assert "direct or unknown" in client.get(f"/admin/members/{plain}").get_data(as_text=True)
