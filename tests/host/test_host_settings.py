"""Host settings: one record per campaign, the settings as fallback, a fee in percent; bad input
is a clear error; receipts name the campaign's host; statement downloads check their input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.audit import AuditEntry
from membership.extensions import db
from membership.fundraisers.models import Campaign, Outlet
from membership.host import hosts
from membership.host.models import FiscalHost
from membership.mail import MailJob
from tests.factories import PASSWORD
from tests.host.conftest import pay_gift


def test_without_a_record_the_settings_host_the_campaign(app, campaign):
    app.config.update(
        HOST_LEGAL_NAME="Site Foundation", HOST_ADDRESS="1 Main St", HOST_REGISTRATION="R-1"
    )
    with app.app_context():
        host = hosts.host_for(campaign)
        assert (
            host.legal_name,
            host.address,
            host.registration_number,
            host.fee_basis_points,
            host.configured,
        ) == ("Site Foundation", "1 Main St", "R-1", 0, False)
        assert hosts.host_for(None).legal_name == "Site Foundation"


@pytest.mark.parametrize(
    "text,points",
    [("0", 0), ("5", 500), ("7.5", 750), ("7,25", 725), ("12.34 %", 1234), ("50", 5000), ("", 0)],
)
def test_percent_parsing(text, points):
    assert hosts.parse_percent(text) == points


@pytest.mark.parametrize("text", ["abc", "-1", "50.01", "60", "5.555", "1e2", "\u0665", "5..5"])
def test_bad_percent(text):
    with pytest.raises(hosts.HostError):
        hosts.parse_percent(text)


@pytest.fixture
def staff_client(client, auth, staff):
    auth.login("staff@example.org", PASSWORD)
    return auth


GOOD = {
    "legal_name": "Media Support Foundation",
    "country": "de",
    "registration_number": "VR 1",
    "address": "Friedrichstraße 1\n10117 Berlin",
    "contact": "host@example.org",
    "fee_percent": "5",
}


@pytest.mark.parametrize(
    "bad",
    [
        {"fee_percent": "abc"},
        {"fee_percent": "75"},
        {"country": "Germany"},
        {"country": "1A"},
        {"legal_name": ""},
        {"contact": "not-an-address"},
        {"legal_name": "x" * 300},
    ],
)
def test_bad_host_input_is_a_clear_error(app, staff_client, campaign, bad):
    response = staff_client.post(f"/admin/host/campaigns/{campaign}", {**GOOD, **bad})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(FiscalHost)) is None


def test_saving_the_host_is_audited_and_names_it_on_receipts(
    app, client, staff_client, campaign, stripe_world
):
    response = staff_client.post(f"/admin/host/campaigns/{campaign}", GOOD)
    assert response.status_code == 303
    page = client.get(f"/admin/host/campaigns/{campaign}").get_data(as_text=True)
    assert 'value="Media Support Foundation"' in page and 'value="5"' in page
    with app.app_context():
        host = db.session.scalar(select(FiscalHost))
        assert (host.country, host.fee_basis_points) == ("DE", 500)
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "host.saved"))
    pay_gift(app, stripe_world, campaign, "25")
    stripe_world.deliver()
    with app.app_context():
        receipt = db.session.scalar(select(MailJob).where(MailJob.template == "donation_receipt"))
        assert receipt.context["host"]["name"] == "Media Support Foundation"
        assert receipt.context["host"]["registration"] == "VR 1"


def test_statement_downloads_check_their_input(app, client, staff_client, campaign):
    with app.app_context():
        outlet_id = db.session.scalar(select(Outlet.id).where(Outlet.campaign_id == campaign))
    base = f"/admin/host/outlets/{outlet_id}/statement"
    for bad in (
        "?period=2026-13",
        "?period=november",
        "?period=2026-11&format=xml",
        "?period=1999-01",
    ):
        assert client.get(base + bad).status_code == 400, bad
    pdf = client.get(base + "?period=2026-11&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "private, no-store"
    csv = client.get(base + "?period=2026-11&format=csv")
    assert csv.headers["Content-Disposition"].endswith('-2026-11.csv"')
    assert client.get("/admin/host/outlets/999999/statement").status_code == 404
    with app.app_context():
        assert db.session.get(Campaign, campaign) is not None
