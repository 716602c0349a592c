"""An outlet's slug cannot be "all": the donation form uses it for "split between all"."""

from __future__ import annotations

from sqlalchemy import select

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers.models import Outlet
from tests.factories import make_user


def _as_staff(app, auth) -> None:
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")


def _add_outlet(auth, campaign_id: int, slug: str):
    page = f"/admin/fundraisers/{campaign_id}"
    fields = {"o-slug": slug, "o-name": "Everyone", "o-position": "9"}
    return auth.post(f"{page}/outlets", fields, form_page=page, follow_redirects=True)


def _outlet_slugs(app, campaign_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Outlet.slug).where(Outlet.campaign_id == campaign_id).order_by(Outlet.id)
            )
        )


def test_outlet_slug_all_is_reserved(app, campaign, auth):
    _as_staff(app, auth)
    for slug in ("all", "ALL", "All"):
        page = _add_outlet(auth, campaign, slug).get_data(as_text=True)
        assert "“all” is reserved" in page, slug
    assert _outlet_slugs(app, campaign) == ["mountain-post", "river-daily", "valley-voice"]


def test_an_outlet_cannot_be_renamed_to_all(app, campaign, auth):
    _as_staff(app, auth)
    with app.app_context():
        outlet_id = db.session.scalar(select(Outlet.id).where(Outlet.slug == "river-daily"))
    page = f"/admin/fundraisers/{campaign}"
    fields = {"o-slug": "all", "o-name": "River Daily", "o-position": "1"}
    response = auth.post(f"{page}/outlets/{outlet_id}", fields, form_page=page,
                         follow_redirects=True)  # fmt: skip
    assert "“all” is reserved" in response.get_data(as_text=True)
    assert _outlet_slugs(app, campaign) == ["mountain-post", "river-daily", "valley-voice"]


def test_other_outlet_slugs_are_still_accepted(app, campaign, auth):
    _as_staff(app, auth)
    page = _add_outlet(auth, campaign, "all-of-us").get_data(as_text=True)
    assert "Newsroom saved." in page
    assert _outlet_slugs(app, campaign)[-1] == "all-of-us"
