"""Outlet staff: an account scoped to one outlet sees that outlet's statement and moderates its
supporters' wall, and gets 403 on every other staff route (other outlets' included)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import Donation, DonationStatus, Outlet
from membership.host import staffing
from tests.factories import PASSWORD, make_user

ALLOWED = {"admin_host.statement", "admin_host.wall", "admin_host.moderate"}


@pytest.fixture
def outlets(app, campaign) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Outlet.slug, Outlet.id)).all())


@pytest.fixture
def newsroom_staff(app, auth, staff, outlets, campaign):
    """reporter@river-daily works for River Daily, assigned by an admin through the form."""
    with app.app_context():
        make_user("reporter@example.org")
    auth.login("admin@example.org", PASSWORD)
    campaign_id = campaign
    response = auth.post(
        f"/admin/host/campaigns/{campaign_id}/outlets/{outlets['river-daily']}/staff",
        {"email": "Reporter@Example.org"},
        form_page=f"/admin/host/campaigns/{campaign_id}",
    )
    assert response.status_code == 303
    auth.logout()
    auth.login("reporter@example.org", PASSWORD)
    return auth


def _wall_entries(app, outlets, campaign_id):
    """One named gift to River Daily and one to Valley Voice."""
    with app.app_context():
        for slug in ("river-daily", "valley-voice"):
            db.session.add(
                Donation(
                    campaign_id=campaign_id,
                    outlet_id=outlets[slug],
                    amount=1000,
                    currency="eur",
                    frequency="once",
                    status=DonationStatus.paid,
                    public_name=f"Friend of {slug}",
                    message="Thanks",
                )
            )
        db.session.commit()
        return dict(db.session.execute(select(Donation.outlet_id, Donation.id)).all())


def test_outlet_staff_see_their_statement_and_wall_and_moderate_it(
    app, client, newsroom_staff, outlets, campaign
):
    own = outlets["river-daily"]
    entries = _wall_entries(app, outlets, campaign)
    statement = client.get(f"/admin/host/outlets/{own}/statement?period=2026-11")
    assert statement.status_code == 200
    assert "Statement for River Daily" in statement.get_data(as_text=True)
    assert client.get(f"/admin/host/outlets/{own}/statement?format=csv").status_code == 200
    wall = client.get(f"/admin/host/outlets/{own}/wall").get_data(as_text=True)
    assert "Friend of river-daily" in wall and "Friend of valley-voice" not in wall
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', wall).group(1)
    hide = client.post(
        f"/admin/host/outlets/{own}/wall/{entries[own]}/hide", data={"csrf_token": csrf}
    )
    assert hide.status_code == 303
    with app.app_context():
        assert db.session.get(Donation, entries[own]).hidden is True
    # Another outlet's entry, through their own outlet's URL or the other's: refused.
    other = outlets["valley-voice"]
    assert (
        client.post(
            f"/admin/host/outlets/{own}/wall/{entries[other]}/hide", data={"csrf_token": csrf}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/admin/host/outlets/{other}/wall/{entries[other]}/hide", data={"csrf_token": csrf}
        ).status_code
        == 403
    )
    with app.app_context():
        assert db.session.get(Donation, entries[other]).hidden is False


def _urls(app, own: int, other: int):
    """Every /admin route with its arguments filled (the outlet's or another's id)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        for outlet_id in (own, other):
            values = {}
            for arg in rule.arguments:
                converter = rule._converters.get(arg)
                name = type(converter).__name__
                if arg == "outlet_id":
                    values[arg] = outlet_id
                elif name in ("IntegerConverter", "IdConverter"):
                    values[arg] = 1
                elif name == "AnyConverter":
                    values[arg] = sorted(getattr(converter, "items", None) or ["hide"])[0]
                else:
                    values[arg] = "x"
            url = rule.build(values, append_unknown=False)[1]
            methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            yield rule.endpoint, url, methods, outlet_id


def test_outlet_staff_get_403_on_every_other_staff_route(app, client, newsroom_staff, outlets):
    own, other = outlets["river-daily"], outlets["valley-voice"]
    html = client.get("/account").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    seen = 0
    for endpoint, url, methods, outlet_id in _urls(app, own, other):
        if endpoint in ALLOWED and outlet_id == own:
            continue
        for method in methods:
            data = {"csrf_token": csrf} if method != "GET" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 403, (endpoint, method, url, response.status_code)
            seen += 1
    assert seen >= 45  # the whole staff area (every rule, both outlets), not a handful


def test_a_member_without_an_outlet_gets_403_and_staff_cannot_be_outlet_staff(
    app, client, auth, staff, outlets
):
    with app.app_context():
        make_user("reader2@example.org")
        outlet = db.session.get(Outlet, outlets["river-daily"])
        with pytest.raises(staffing.StaffingError):
            staffing.assign("staff@example.org", outlet, None)
        with pytest.raises(staffing.StaffingError):
            staffing.assign("nobody@example.org", outlet, None)
    auth.login("reader2@example.org", PASSWORD)
    own = outlets["river-daily"]
    assert client.get(f"/admin/host/outlets/{own}/statement").status_code == 403
    assert client.get(f"/admin/host/outlets/{own}/wall").status_code == 403


def test_only_admins_assign_outlet_staff(app, client, auth, staff, outlets, campaign):
    with app.app_context():
        make_user("reporter@example.org")
    auth.login("staff@example.org", PASSWORD)
    response = auth.post(
        f"/admin/host/campaigns/{campaign}/outlets/{outlets['river-daily']}/staff",
        {"email": "reporter@example.org"},
        form_page=f"/admin/host/campaigns/{campaign}",
    )
    assert response.status_code == 403
    with app.app_context():
        assert staffing.outlet_scope(make_user("other@example.org")) is None
