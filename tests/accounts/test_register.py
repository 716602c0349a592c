"""Registration as a reader sees it: the form, the mail, the account page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from membership.accounts.background import background
from membership.accounts.models import User
from membership.extensions import db
from tests.conftest import PASSWORD, Actions, csrf_token
from tests.factories import make_user


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_signs_in_and_asks_to_verify(app, client, auth, mailbox):
    response = auth.register(email="Nino@Example.ORG", name="Nino")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    background(app).wait()  # the mail goes after the answer

    page = client.get("/account").get_data(as_text=True)
    assert "Hello, Nino" in page
    assert "Please confirm your e-mail address" in page

    message = mailbox.last_to("nino@example.org")
    assert message["Subject"] == "Confirm your e-mail address"
    link = mailbox.link_in(message, "/verify-email/")
    assert client.get(link).status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "Please confirm your e-mail address" not in page
    assert "confirmed" in page


def test_existing_address_gets_same_answer_and_owner_is_told(app, client, auth, mailbox):
    with app.app_context():
        make_user(email="owner@example.org")
    response = auth.register(email="OWNER@example.org", name="Someone else")
    free = Actions(app.test_client(), mailbox).register(email="free@example.org")
    assert response.status_code == free.status_code == 303
    assert response.headers["Location"] == free.headers["Location"] == "/account"
    assert response.get_data() == free.get_data()
    assert cookie_names(response) == cookie_names(free)
    background(app).wait()
    assert count_users(app) == 2  # the newcomer's; none for the taken address
    told = mailbox.last_to("owner@example.org")
    assert told["Subject"] == "Someone tried to register with your e-mail address"
    assert "/reset-password" in mailbox.body(told)
    # The attacker is not signed in as the owner.
    assert client.get("/account").status_code == 302


def cookie_names(response) -> list[str]:
    return sorted(c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie"))


def test_flash_is_the_same_for_new_and_existing_addresses(app, mailbox):
    with app.app_context():
        make_user(email="owner@example.org")
    pages = []
    for address in ("owner@example.org", "newcomer@example.org"):
        reader = Actions(app.test_client(), mailbox)
        pages.append(reader.register(email=address, follow=True).get_data(as_text=True))
    sent = "We sent a link to your e-mail address: follow it to confirm the address."
    assert all(sent in page for page in pages)


@pytest.mark.parametrize(
    "email",
    ["", "not-an-email", "a@", "@example.org", "a b@example.org", "x" * 10_000 + "@example.org"],
)
def test_invalid_emails_are_refused(app, auth, email):
    response = auth.register(email=email)
    assert response.status_code == 400
    assert count_users(app) == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "This field is required"),
        ("short", "at least 10 characters"),
        ("reader@example.org", "must not be your e-mail"),
        ("password1234", "too common"),
        ("1234567890", "too common"),
        ("x" * 10_000, "at most 1024 characters"),
    ],
)
def test_password_rules(app, auth, password, message):
    response = auth.register(email="reader@example.org", password=password)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_users(app) == 0


def test_empty_and_oversized_names_are_refused(app, auth):
    assert auth.register(name="").status_code == 400
    assert auth.register(name="N" * 10_000).status_code == 400
    assert count_users(app) == 0


@pytest.mark.parametrize("name", ["ნინო ბერიძე", "Անի Սարգսյան", "Анна Иванова", "Aysel Məmmədova"])
def test_names_in_the_regions_scripts(app, client, auth, name):
    assert auth.register(name=name).status_code == 303
    assert f"Hello, {name}" in client.get("/account").get_data(as_text=True)


def test_markup_in_a_name_is_shown_as_text(app, client, auth):
    auth.register(name="<script>alert(1)</script>")
    page = client.get("/account").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_missing_csrf_token_is_refused(app, client):
    response = client.post(
        "/register", data={"email": "a@example.org", "password": PASSWORD, "name": "A"}
    )
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)
    assert count_users(app) == 0


def test_next_only_to_this_site(app, client, mailbox):
    token = csrf_token(client, "/register")
    data = {
        "email": "n@example.org",
        "password": PASSWORD,
        "name": "N",
        "locale": "en",
        "csrf_token": token,
    }
    response = client.post("/register?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/account"


def test_registration_is_rate_limited(app, mailbox):
    app.config["RATE_LIMIT_REGISTER"] = "3 per minute"
    codes = [
        Actions(app.test_client(), mailbox).register(email=f"r{i}@example.org").status_code
        for i in range(4)
    ]
    assert codes == [303, 303, 303, 429]
    assert count_users(app) == 3


def test_preferred_language_is_kept(app, client, auth):
    auth.register(locale="ru")
    with app.app_context():
        assert db.session.scalar(select(User.locale)) == "ru"
