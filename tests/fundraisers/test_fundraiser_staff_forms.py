"""Staff edits of a campaign: its currency is fixed once it has gifts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers import campaigns, editing, giving
from membership.fundraisers.models import Campaign, Donation
from tests.factories import make_user
from tests.fundraisers.conftest import give, give_and_pay, text_of


def _as_staff(app, auth) -> None:
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")


def _edit(auth, campaign_id: int, **changes):
    """Post the campaign's edit form with its current values and some changes."""
    fields = {
        "c-title": "Reporters Together", "c-slug": "reporters-together", "c-story": "",
        "c-goal": "10000", "c-currency": "eur", "c-status": "live",
        "c-starts_at": "2026-01-01T00:00", "c-ends_at": "2030-01-01T00:00",
        "c-min_amount": "5", "c-max_amount": "5000", "c-presets": "10, 25",
    }  # fmt: skip
    fields.update({f"c-{name}": value for name, value in changes.items()})
    page = f"/admin/fundraisers/{campaign_id}"
    return auth.post(page, fields, form_page=page)


def _currency(app, campaign_id: int) -> str:
    with app.app_context():
        return db.session.get(Campaign, campaign_id).currency


def test_currency_is_fixed_once_a_gift_is_pending(app, campaign, auth, stripe_world):
    give(auth, amount="25")  # at Checkout, not paid yet
    with app.app_context():
        assert db.session.scalar(select(Donation.status)) == "pending"
    _as_staff(app, auth)
    response = _edit(auth, campaign, currency="usd")
    assert response.status_code == 422
    page = text_of(response.get_data(as_text=True))
    assert "The currency cannot change once gifts arrived." in page
    assert _currency(app, campaign) == "eur"


def test_currency_is_fixed_once_a_gift_is_paid(app, campaign, auth, stripe_world):
    give_and_pay(auth, stripe_world, amount="25")
    _as_staff(app, auth)
    response = _edit(auth, campaign, currency="usd", title="Renamed")
    assert response.status_code == 422
    assert "The currency cannot change once gifts arrived." in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Campaign, campaign)
        assert (row.currency, row.title) == ("eur", "Reporters Together")  # nothing half-saved


def test_currency_may_change_before_any_gift(app, campaign, auth):
    _as_staff(app, auth)
    response = _edit(auth, campaign, currency="usd")
    assert response.status_code == 303
    assert _currency(app, campaign) == "usd"


@pytest.mark.postgres_only  # SQLite runs without foreign-key checks
def test_the_database_keeps_the_currency_when_a_gift_slips_past_the_check(
    app, campaign, auth, stripe_world, monkeypatch
):
    give(auth, amount="25")
    _as_staff(app, auth)
    # The race: the staff form's check ran just before the gift was written.
    monkeypatch.setattr(editing, "has_gifts", lambda campaign_id: False)
    response = _edit(auth, campaign, currency="usd", title="Renamed")
    assert response.status_code == 422
    assert "The currency cannot change once gifts arrived." in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Campaign, campaign)
        assert (row.currency, row.title) == ("eur", "Reporters Together")


@pytest.mark.postgres_only  # SQLite runs without foreign-key checks
def test_a_gift_started_as_the_currency_changes_is_refused_not_mixed(app, campaign):
    with app.test_request_context():
        stale = db.session.get(Campaign, campaign)  # the donor's page read it in euros
        assert stale.currency == "eur"
        with db.engine.begin() as other:  # meanwhile staff switch it to dollars
            other.execute(update(Campaign).values(currency="usd"))
        gift = giving.GiftRequest("25", "once", "all", "", "")
        with pytest.raises(campaigns.DonationError, match="changed"):
            giving.start_donation(stale, gift, None)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Donation.id))) == 0
