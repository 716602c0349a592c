"""Grants: recorded by staff, audited, undone only by a counter-entry; a double click is one
grant; bad input to the form is a clear error (422), never a 500, and writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from membership.audit import AuditEntry
from membership.extensions import db
from membership.fundraisers.models import Outlet
from membership.host.models import OutletGrant
from tests.factories import PASSWORD
from tests.host.conftest import accounts_of, pay_gift, transparency_json


def _outlet_id(app, slug: str = "river-daily") -> int:
    with app.app_context():
        return db.session.scalar(select(Outlet.id).where(Outlet.slug == slug))


def _grant_form(client, outlet_id: int) -> dict:
    """The grant form's hidden values (CSRF token, idempotency token) from the outlet page."""
    html = client.get(f"/admin/host/outlets/{outlet_id}").get_data(as_text=True)
    token = re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', html)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token and csrf, html[:3000]
    return {"csrf_token": csrf.group(1), "token": token.group(1)}


def _grants(app) -> list[tuple[int, str, int | None]]:
    with app.app_context():
        return db.session.execute(
            select(OutletGrant.amount, OutletGrant.currency, OutletGrant.reverses_id).order_by(
                OutletGrant.id
            )
        ).all()


@pytest.fixture
def signed_in_staff(app, auth, staff):
    auth.login("staff@example.org", PASSWORD)
    return auth


GOOD = {
    "amount": "12.50",
    "currency": "EUR",
    "paid_on": "2026-11-30",
    "bank_reference": "SEPA 2026-11-30 / 17",
}


def test_a_grant_recorded_twice_by_a_double_click_is_one_grant(
    app, client, campaign, stripe_world, signed_in_staff
):
    pay_gift(app, stripe_world, campaign, "30", outlet="river-daily")
    stripe_world.deliver()
    outlet_id = _outlet_id(app)
    before = accounts_of(app, campaign)["river-daily"].balance
    form = {**_grant_form(client, outlet_id), **GOOD}
    first = client.post(f"/admin/host/outlets/{outlet_id}/grants", data=form)
    second = client.post(f"/admin/host/outlets/{outlet_id}/grants", data=form)
    assert first.status_code == second.status_code == 303
    assert _grants(app) == [(1250, "eur", None)]
    assert accounts_of(app, campaign)["river-daily"].balance == before - 1250
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "That grant was recorded already." in page
    with app.app_context():
        audited = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "grant.recorded")
        )
    assert audited == 1
    assert transparency_json(client)["granted"] == 1250


def test_a_grant_paid_in_lari_keeps_the_amount_paid_and_its_rate(
    app, client, campaign, signed_in_staff
):
    outlet_id = _outlet_id(app)
    form = {
        **_grant_form(client, outlet_id),
        **GOOD,
        "paid_amount": "36.88",
        "paid_currency": "gel",
        "rate": "2.9504",
    }
    assert client.post(f"/admin/host/outlets/{outlet_id}/grants", data=form).status_code == 303
    with app.app_context():
        grant = db.session.scalar(select(OutletGrant))
        assert (
            grant.amount,
            grant.currency,
            grant.paid_amount,
            grant.paid_currency,
            grant.rate,
        ) == (1250, "eur", 3688, "gel", "2.9504")


def test_a_grant_is_undone_only_by_one_counter_entry(app, client, campaign, signed_in_staff):
    outlet_id = _outlet_id(app)
    client.post(
        f"/admin/host/outlets/{outlet_id}/grants", data={**_grant_form(client, outlet_id), **GOOD}
    )
    with app.app_context():
        grant_id = db.session.scalar(select(OutletGrant.id))
    html = client.get(f"/admin/host/outlets/{outlet_id}").get_data(as_text=True)
    token = re.findall(r'name="token" type="hidden" value="([^"]+)"', html)[-1]
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    for _ in range(2):  # a double click, and then a second reversal
        response = client.post(
            f"/admin/host/grants/{grant_id}/reverse", data={"csrf_token": csrf, "token": token}
        )
        assert response.status_code == 303
    assert _grants(app) == [(1250, "eur", None), (-1250, "eur", grant_id)]
    assert accounts_of(app, campaign)["river-daily"].granted == 0
    with app.app_context():
        counter_id = db.session.scalar(
            select(OutletGrant.id).where(OutletGrant.reverses_id.is_not(None))
        )
    html = client.get(f"/admin/host/outlets/{outlet_id}").get_data(as_text=True)
    token = re.findall(r'name="token" type="hidden" value="([^"]+)"', html)[-1]
    client.post(
        f"/admin/host/grants/{counter_id}/reverse", data={"csrf_token": csrf, "token": token}
    )
    assert len(_grants(app)) == 2  # a counter-entry is never reversed


BAD = [
    {"amount": "abc"},
    {"amount": "-5"},
    {"amount": "0"},
    {"amount": "1e9999"},
    {"amount": "NaN"},
    {"amount": "12.345"},
    {"amount": "9" * 19},
    {"amount": ""},
    {"currency": "EURO"},
    {"currency": "€€€"},
    {"currency": "12"},
    {"paid_on": "2099-01-01"},
    {"paid_on": "yesterday"},
    {"paid_on": ""},
    {"paid_on": "1999-12-31"},
    {"paid_amount": "30"},
    {"paid_amount": "30", "paid_currency": "eur"},
    {"paid_amount": "abc", "paid_currency": "gel"},
    {"rate": "2.95"},
    {"paid_amount": "30", "paid_currency": "gel", "rate": "-1"},
    {"paid_amount": "30", "paid_currency": "gel", "rate": "Infinity"},
    {"paid_amount": "30", "paid_currency": "gel", "rate": "abc"},
    {"token": ""},
    {"token": "short"},
    {"token": "x" * 65},
    {"token": "no spaces allowed here!"},
    {"bank_reference": "x" * 500},
    {"note": "y" * 1000},
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: ",".join(f"{k}={v[:12]}" for k, v in b.items()))
def test_bad_grant_input_is_a_clear_error_and_writes_nothing(
    app, client, campaign, signed_in_staff, bad
):
    outlet_id = _outlet_id(app)
    form = {**_grant_form(client, outlet_id), **GOOD, **bad}
    response = client.post(f"/admin/host/outlets/{outlet_id}/grants", data=form)
    assert response.status_code == 422, response.status_code
    assert 'class="flash flash-error"' in response.get_data(as_text=True) or (
        'class="errors"' in response.get_data(as_text=True)
    )
    assert _grants(app) == []


def test_grant_form_edges(app, client, campaign, signed_in_staff):
    outlet_id = _outlet_id(app)
    form = {**_grant_form(client, outlet_id), **GOOD}
    assert client.post("/admin/host/outlets/999999/grants", data=form).status_code == 404
    assert (
        client.post(
            f"/admin/host/outlets/{outlet_id}/grants", data={**form, "csrf_token": "forged"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/admin/host/outlets/{outlet_id}/grants", data={**form, "amount": "1\x002"}
        ).status_code
        == 400
    )
    assert client.post("/admin/host/grants/999999/reverse", data=form).status_code == 404
    assert _grants(app) == []
