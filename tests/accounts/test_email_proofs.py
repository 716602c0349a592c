"""Links sent by mail: verification, password reset, change of address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.accounts.background import background
from membership.accounts.models import User
from membership.extensions import db
from tests.conftest import PASSWORD
from tests.factories import make_user

NEW = "a completely new passphrase"


@pytest.fixture
def reader(app):
    with app.app_context():
        return make_user(email="reader@example.org", verified=False)


def reset_link(auth, mailbox, email="reader@example.org") -> str:
    auth.post("/reset-password", {"email": email})
    background(auth.client.application).wait()  # the link is mailed after the answer
    return mailbox.link_in(mailbox.last_to(email), "/reset-password/")


def test_reset_answers_alike_for_known_and_unknown(reader, auth, mailbox):
    known = auth.post("/reset-password", {"email": "reader@example.org"}, follow_redirects=True)
    unknown = auth.post("/reset-password", {"email": "nobody@example.org"}, follow_redirects=True)
    said = "If an account uses that address, we have sent it a link"
    assert said in known.get_data(as_text=True)
    assert said in unknown.get_data(as_text=True)
    background(auth.client.application).wait()
    assert [m["To"] for m in mailbox.messages] == ["reader@example.org"]


def test_reset_link_works_once(reader, client, auth, mailbox):
    link = reset_link(auth, mailbox)
    response = auth.post(link, {"password": NEW, "confirm": NEW})
    assert response.status_code == 303
    assert mailbox.last_to("reader@example.org")["Subject"] == "Your password was changed"
    assert auth.login(password=NEW).status_code == 303
    auth.logout()
    assert client.get(link).status_code == 400  # used


def test_newer_reset_link_supersedes_older(reader, client, auth, mailbox):
    old = reset_link(auth, mailbox)
    new = reset_link(auth, mailbox)
    assert client.get(old).status_code == 400
    assert client.get(new).status_code == 200


@pytest.mark.config(RESET_TOKEN_MAX_AGE=-1)
def test_expired_reset_link_fails(reader, client, auth, mailbox):
    assert client.get(reset_link(auth, mailbox)).status_code == 400


def test_reset_with_weak_or_mismatched_password(reader, auth, mailbox):
    link = reset_link(auth, mailbox)
    assert auth.post(link, {"password": "short", "confirm": "short"}).status_code == 400
    assert auth.post(link, {"password": NEW, "confirm": NEW + "x"}).status_code == 400
    assert auth.login(password=PASSWORD).status_code == 303


def test_forged_links_fail(reader, client):
    for path in ("/verify-email/nonsense", "/reset-password/nonsense", "/account/email/x.y.z"):
        response = client.get(path)
        assert response.status_code == 400
        assert "This link does not work" in response.get_data(as_text=True)


def test_verification_link_for_a_changed_address_fails(app, reader, auth, client, mailbox):
    auth.login()
    auth.post("/verify-email", form_page="/account")
    link = mailbox.link_in(mailbox.last_to("reader@example.org"), "/verify-email/")
    with app.app_context():
        user = db.session.scalar(select(User))
        user.email = "other@example.org"
        db.session.commit()
    assert client.get(link).status_code == 400


def test_change_email_takes_effect_from_the_new_address(app, reader, client, auth, mailbox):
    auth.login()
    response = auth.post("/account/email", {"email": "New@Example.org", "password": PASSWORD})
    assert response.status_code == 303
    background(app).wait()  # the link is mailed after the answer
    link = mailbox.link_in(mailbox.last_to("new@example.org"), "/account/email/")
    with app.app_context():
        assert db.session.scalar(select(User.email)) == "reader@example.org"
    assert client.get(link).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "new@example.org"
        assert user.is_verified
    assert mailbox.last_to("reader@example.org")["Subject"] == "Your e-mail address was changed"
    assert client.get(link).status_code == 400  # superseded: the old address is gone


def test_change_email_needs_the_password(reader, auth, mailbox):
    auth.login()
    response = auth.post("/account/email", {"email": "new@example.org", "password": "wrong one!!"})
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    assert mailbox.to("new@example.org") == []


def test_change_email_to_a_taken_address_reveals_nothing(app, reader, auth, mailbox):
    with app.app_context():
        make_user(email="taken@example.org")
    auth.login()
    response = auth.post("/account/email", {"email": "taken@example.org", "password": PASSWORD})
    assert response.status_code == 303
    background(app).wait()
    assert mailbox.messages == []


def test_change_password_checks_the_current_one(reader, auth):
    auth.login()
    response = auth.post(
        "/account/password", {"current": "wrong password", "password": NEW, "confirm": NEW}
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
