"""The account page, profile, data export and deletion."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from membership.accounts.models import User
from membership.audit import AuditEntry
from membership.billing.models import Plan
from membership.extensions import db
from membership.gifts.models import GiftMembership
from membership.gifts.services import add_months
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.factories import make_user


@pytest.fixture
def reader(app):
    with app.app_context():
        return make_user(email="reader@example.org", name="Nino")


def test_account_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_profile_update(app, reader, client, auth):
    auth.login()
    response = auth.post(
        "/account/profile",
        {"name": "Нино", "locale": "ka", "email_consent": "y"},
        form_page="/account",
    )
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.name, user.locale, user.email_consent) == ("Нино", "ka", True)
    assert '<html lang="ka"' in client.get("/account").get_data(as_text=True)


def test_profile_refuses_unknown_language(reader, auth):
    auth.login()
    response = auth.post("/account/profile", {"name": "N", "locale": "xx"}, form_page="/account")
    assert response.status_code == 400


def test_export_is_json_of_my_data(reader, client, auth):
    auth.login()
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["account"]["email"] == "reader@example.org"
    assert data["account"]["name"] == "Nino"


def test_delete_account_erases_personal_data(app, reader, client, auth, mailbox):
    auth.login()
    response = auth.post("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 302
    assert mailbox.last_to("reader@example.org")["Subject"] == "Your account was deleted"
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.deleted_at is not None
        assert "reader" not in user.email and user.name == ""
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert "account.deleted" in actions
    assert auth.login().status_code == 400
    # The address is free again.
    assert auth.register(email="reader@example.org").status_code == 303


def test_delete_needs_password_and_confirmation(app, reader, auth):
    auth.login()
    assert auth.post("/account/delete", {"password": "wrong password"}).status_code == 400
    assert auth.post("/account/delete", {"password": PASSWORD}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User.deleted_at)) is None


@pytest.mark.config(STRIPE_API_BASE="http://127.0.0.1:9")  # Stripe unreachable
def test_delete_stops_when_payments_cannot_be_stopped(app, reader, auth):
    with app.app_context():
        user = db.session.scalar(select(User))
        user.stripe_customer_id = "cus_unreachable"
        db.session.commit()
    auth.login()
    response = auth.post("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 400
    assert "nothing was deleted" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.deleted_at is None and user.email == "reader@example.org"


@pytest.fixture
def catalogue(app):
    from membership.billing.demo import seed_catalogue
    from membership.demo import Summary

    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _membership_card(client) -> str:
    html = client.get("/account").get_data(as_text=True)
    return _text(html.split('id="membership"')[1].split("</section>")[0])


def test_a_redeemed_gift_shows_its_perks_and_end_date_not_not_a_member(
    app, reader, catalogue, auth, client
):
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
        gift = GiftMembership(code="GIFT-7KQ2-M9XD-4HPT", plan_id=plan.id, months=6,
                              amount=3000, currency="eur", buyer_email="g@example.org",
                              recipient_email="reader@example.org", status="paid")  # fmt: skip
        db.session.add(gift)
        db.session.commit()
    auth.login()
    assert auth.post("/gift/redeem", {"code": "GIFT-7KQ2-M9XD-4HPT"}).status_code == 303
    card = _membership_card(client)
    assert "not a member yet" not in card
    with app.app_context():
        until = format_date(add_months(utcnow(), 6), "long", locale="en")
    assert f"Gift membership: your perks are open until {until}." in card
    assert "Ad-free reading" in card and "Members-only articles" in card


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (GrantSource.complimentary, "On the house from the newsroom: your perks are open until"),
        (GrantSource.reward, "A thank-you for your donation: your perks are open until"),
    ],
)
def test_complimentary_and_reward_perks_show_with_their_end_date(
    app, reader, catalogue, auth, client, source, says
):
    ends = utcnow() + timedelta(days=40)
    with app.app_context():
        perk = db.session.scalar(select(Perk).where(Perk.slug == "ad-free"))
        user_id = db.session.scalar(select(User.id))
        db.session.add(PerkGrant(user_id=user_id, perk_id=perk.id, source=source,
                                 source_ref="t-1", starts_at=utcnow() - timedelta(days=1),
                                 ends_at=ends, reason="test"))  # fmt: skip
        db.session.commit()
    auth.login()
    card = _membership_card(client)
    assert "not a member yet" not in card
    assert f"{says} {format_date(ends, 'long', locale='en')}." in card
    assert "Ad-free reading" in card


def test_a_reader_with_nothing_is_not_a_member_yet(reader, catalogue, auth, client):
    auth.login()
    assert "You are not a member yet." in _membership_card(client)
