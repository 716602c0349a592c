"""A gift remembers the article the reader came from (`?ref=` → hidden field → donations.ref)."""

from __future__ import annotations

from membership.extensions import db
from membership.fundraisers.models import Donation
from tests.fundraisers.conftest import SLUG


def _donate(auth, **extra):
    data = {"amount": "25", "frequency": "once", "outlet": "all", **extra}
    response = auth.post(f"/fundraisers/{SLUG}/donate", data, form_page=f"/fundraisers/{SLUG}")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_the_form_carries_the_ref_and_the_gift_keeps_it(app, client, auth, campaign, stripe_world):
    page = client.get(f"/fundraisers/{SLUG}?ref=local-election-2026").get_data(as_text=True)
    assert 'name="ref" type="hidden" value="local-election-2026"' in page
    _donate(auth, ref="local-election-2026")
    _donate(auth)
    with app.app_context():
        refs = [d.ref for d in db.session.query(Donation).order_by(Donation.id)]
    assert refs == ["local-election-2026", None]


def test_an_overlong_ref_is_refused_without_writing(app, auth, campaign, stripe_world):
    data = {"amount": "25", "frequency": "once", "outlet": "all", "ref": "x" * 201}
    response = auth.post(f"/fundraisers/{SLUG}/donate", data, form_page=f"/fundraisers/{SLUG}")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.query(Donation).count() == 0
