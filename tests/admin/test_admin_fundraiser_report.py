"""The fundraiser report against figures worked out by hand, and against the public progress."""

from __future__ import annotations

import csv
import io

import pytest

from membership.admin import reports
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign, CampaignStatus, Donation, Frequency, Outlet
from membership.ledger.models import EntryKind
from tests.admin.conftest import add_entry, at
from tests.factories import make_user

PERIOD = reports.Period(at(2026, 3, 1).date(), at(2026, 3, 31).date())
EVER = reports.Period(at(2025, 1, 1).date(), at(2026, 12, 31).date())


def _donation(campaign: Campaign, amount: int, outlet: Outlet | None = None, **fields) -> Donation:
    """A paid donation row."""
    fields = {"frequency": Frequency.once, "status": "paid", **fields}
    row = Donation(campaign_id=campaign.id, outlet_id=outlet.id if outlet else None,
                   amount=amount, currency="eur", **fields)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def drive(app):
    """Three outlets; gifts in March 2026 (split with remainders, a refund, an offline gift)."""
    with app.app_context():
        campaign = Campaign(slug="drive", title="Spring Drive", goal=100_000, currency="eur",
                            starts_at=at(2026, 2, 1), ends_at=at(2026, 5, 1),
                            status=CampaignStatus.live)  # fmt: skip
        db.session.add(campaign)
        db.session.flush()
        a, b, c = (
            Outlet(campaign_id=campaign.id, slug=s, name=s.title(), position=i)
            for i, s in enumerate(("alpha", "beta", "gamma"))
        )
        db.session.add_all([a, b, c])
        db.session.flush()
        donor = make_user(email="donor@example.org", name="Donor")
        cid = campaign.id
        d1 = _donation(campaign, 1000, user_id=donor.id)  # all outlets
        d2 = _donation(campaign, 2000, b, email="b@example.org")  # refunded in full
        d3 = _donation(campaign, 500, email="c@example.org", frequency=Frequency.monthly)
        d4 = _donation(campaign, 3000, c, offline=True)  # anonymous bank transfer
        d5 = _donation(campaign, 700, email="early@example.org")  # before the period
        add_entry(EntryKind.gift, 1000, at(2026, 3, 2), campaign_id=cid, donation_id=d1.id)
        add_entry(EntryKind.gift, 2000, at(2026, 3, 3), campaign_id=cid, outlet_id=b.id,
                  donation_id=d2.id)  # fmt: skip
        add_entry(EntryKind.monthly_gift, 500, at(2026, 3, 4), campaign_id=cid, donation_id=d3.id)
        add_entry(EntryKind.offline, 3000, at(2026, 3, 5), campaign_id=cid, outlet_id=c.id,
                  donation_id=d4.id)  # fmt: skip
        add_entry(EntryKind.refund, -2000, at(2026, 3, 6), campaign_id=cid, outlet_id=b.id,
                  donation_id=d2.id)  # fmt: skip
        add_entry(EntryKind.refund, -100, at(2026, 3, 7), campaign_id=cid, donation_id=d1.id)
        add_entry(EntryKind.gift, 700, at(2026, 2, 10), campaign_id=cid, donation_id=d5.id)
        add_entry(EntryKind.membership, 900, at(2026, 3, 8), user_id=donor.id)  # not a gift
        db.session.commit()
        return cid


def _figures(row: reports.FundraiserRow) -> tuple:
    return (row.name, row.gifts, row.monthly_gifts, row.offline, row.refunds, row.net, row.backers)


def test_totals_per_campaign_and_outlet_by_hand(app, drive):
    with app.app_context():
        [totals] = reports.fundraiser_totals(PERIOD)
    assert totals.currency == "eur"
    # 1000 split: 334/333/333; 500 split: 167/167/166; -100 split: -34/-33/-33.
    assert _figures(totals.total) == ("Spring Drive", 3000, 500, 3000, -2100, 4400, 3)
    assert [_figures(o) for o in totals.outlets] == [
        ("Alpha", 334, 167, 0, -34, 467, 2),
        ("Beta", 2333, 167, 0, -2033, 467, 2),  # b@ was refunded in full: no longer a backer
        ("Gamma", 333, 166, 3000, -33, 3466, 3),
    ]
    assert sum(o.net for o in totals.outlets) == totals.total.net


def test_whole_campaign_equals_the_public_progress(app, client, drive):
    with app.app_context():
        [totals] = reports.fundraiser_totals(EVER)
    progress = client.get("/api/v1/fundraisers/drive/progress").get_json()
    assert progress["raised"] == totals.total.net == 5100
    assert progress["backers"] == totals.total.backers == 4
    assert (
        {o["slug"]: o["raised"] for o in progress["outlets"]}
        == {o.slug: o.net for o in totals.outlets}
        == {"alpha": 701, "beta": 700, "gamma": 3699}
    )  # 700 split: 234/233/233


def test_outlet_shares_unchanged_by_the_refactor(app, drive):
    with app.app_context():
        campaign = db.session.get(Campaign, drive)
        ids = [o.id for o in campaign.outlets]
        assert list(totals.outlet_shares(drive, ids).values()) == [701, 700, 3699]


def test_report_page_and_csv(app, client, drive, staff):
    response = client.get("/admin/reports/fundraisers?start=2026-03-01&end=2026-03-31")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in page and "<table" in page and "style=" not in page
    assert "Spring Drive (EUR)" in page and "€44.00" in page and "-€21.00" in page
    assert "Offline (recorded by staff)" in page
    response = client.get("/admin/reports/fundraisers.csv?start=2026-03-01&end=2026-03-31")
    assert response.is_streamed and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["campaign", "currency", "outlet", "card_gifts", "monthly_gifts", "offline",
         "refunds_disputes", "net", "backers", "card_gifts_minor", "monthly_gifts_minor",
         "offline_minor", "refunds_disputes_minor", "net_minor"],
        ["drive", "eur", "", "30.00", "5.00", "30.00", "-21.00", "44.00", "3",
         "3000", "500", "3000", "-2100", "4400"],
        ["drive", "eur", "alpha", "3.34", "1.67", "0.00", "-0.34", "4.67", "2",
         "334", "167", "0", "-34", "467"],
        ["drive", "eur", "beta", "23.33", "1.67", "0.00", "-20.33", "4.67", "2",
         "2333", "167", "0", "-2033", "467"],
        ["drive", "eur", "gamma", "3.33", "1.66", "30.00", "-0.33", "34.66", "3",
         "333", "166", "3000", "-33", "3466"],
    ]  # fmt: skip
    assert client.get("/admin/reports").get_data(as_text=True).count("/admin/reports/fundraisers")


def test_no_campaign_in_the_period(app, client, drive, staff):
    with app.app_context():
        assert reports.fundraiser_totals(reports.Period(at(2024, 1, 1).date(),
                                                        at(2024, 2, 1).date())) == []  # fmt: skip
    page = client.get("/admin/reports/fundraisers?start=2024-01-01&end=2024-02-01")
    assert page.status_code == 200 and "Nothing in this period." in page.get_data(as_text=True)


def test_conversions_count_gifts_by_article(app, client, drive, staff):
    with app.app_context():
        rows = {d.id: d for d in db.session.query(Donation).order_by(Donation.id)}
        d1, d2, d3, d4, d5 = rows.values()
        for donation, ref, day in ((d1, "art-1", 2), (d2, "art-1", 3), (d3, "art-2", 4),
                                   (d4, None, 5), (d5, "art-1", 10)):  # fmt: skip
            donation.ref, donation.created_at = ref, at(2026, 3 if day < 10 else 2, day)
        pending = Donation(campaign_id=drive, amount=999, currency="eur", ref="art-1",
                           frequency=Frequency.once, status="pending",
                           created_at=at(2026, 3, 9))  # fmt: skip
        db.session.add(pending)
        db.session.commit()
        found = [(r.ref, r.joins, r.gifts, r.given) for r in reports.conversions(PERIOD)]
    # art-1: d1 (1000 - 100) and d2 (2000 - 2000); d5 is February; pending and offline left out.
    assert found == [("art-1", 0, 2, {"eur": 900}), ("art-2", 0, 1, {"eur": 500})]
    response = client.get("/admin/reports/conversions.csv?start=2026-03-01&end=2026-03-31")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        [
            "ref",
            "currency",
            "joins",
            "still_live",
            "arr",
            "gifts",
            "given",
            "arr_minor",
            "given_minor",
        ],
        ["art-1", "eur", "0", "0", "0.00", "2", "9.00", "0", "900"],
        ["art-2", "eur", "0", "0", "0.00", "1", "5.00", "0", "500"],
    ]
    page = client.get("/admin/reports/conversions?start=2026-03-01&end=2026-03-31")
    assert page.status_code == 200 and "€9.00" in page.get_data(as_text=True)
