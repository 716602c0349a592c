"""The account page, profile, data export and deletion."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from membership.accounts.models import User
from membership.audit import AuditEntry
from membership.extensions import db
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
    assert 'lang="ka"' in client.get("/account").get_data(as_text=True)


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
