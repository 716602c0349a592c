"""Signing in and out."""

from __future__ import annotations

import pytest

from membership.config import public_address
from tests.conftest import PASSWORD, Actions
from tests.factories import make_user


@pytest.fixture
def reader(app):
    with app.app_context():
        return make_user(email="reader@example.org")


def test_login_and_logout(reader, client, auth):
    response = auth.login(email="READER@example.org")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get("/account").status_code == 302


def test_wrong_password_and_unknown_address_answer_alike(reader, client, auth):
    wrong = auth.login(password="not the password at all")
    unknown = auth.login(email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 400
    message = "That e-mail and password do not match an account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"), [("", PASSWORD), ("reader@example.org", ""), ("x" * 10_000, PASSWORD)]
)
def test_bad_login_input(reader, auth, email, password):
    assert auth.login(email=email, password=password).status_code == 400


def test_logout_needs_post_and_csrf(reader, client, auth):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_remember_me_sets_a_lasting_cookie(reader, client, auth):
    response = auth.login(remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "Expires=" in remember[0]


@pytest.mark.config(**public_address("https://members.example.org"))
def test_session_cookie_flags(reader, auth):
    response = auth.login()
    session_cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Secure" in session_cookie


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account/email", "/account/email"),
        ("https://evil.example/steal", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ],
)
def test_next_only_to_this_site(reader, auth, next_url, expected):
    response = auth.post(
        f"/login?next={next_url}",
        {"email": "reader@example.org", "password": PASSWORD},
        form_page="/login",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_login_is_rate_limited_per_address(app, reader, mailbox):
    app.config["RATE_LIMIT_LOGIN"] = "3 per minute"
    codes = [
        from_address(app, mailbox, f"10.0.0.{i}").login(password="wrong password!!").status_code
        for i in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    page = from_address(app, mailbox, "10.0.1.1").login()
    assert page.status_code == 429
    assert "Too many attempts" in page.get_data(as_text=True)


def test_deleted_sessions_end_when_password_changes_elsewhere(app, reader, mailbox):
    first = Actions(app.test_client(), mailbox)
    second = Actions(app.test_client(), mailbox)
    first.login()
    second.login()
    response = second.post(
        "/account/password",
        {
            "current": PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 303
    assert second.client.get("/account").status_code == 200
    assert first.client.get("/account").status_code == 302


def test_sign_out_after_keep_me_signed_in_signs_out(reader, client, auth):
    auth.login(remember="y")
    assert client.get("/account").status_code == 200
    auth.logout()
    assert client.get_cookie("remember_token") is None  # the browser was told to drop it
    # The browser's next visit, and a later one that carries only what is left of the cookies.
    assert client.get("/account").status_code == 302
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302


def test_cookies_copied_before_sign_out_no_longer_open_the_account(app, reader, mailbox):
    reader_browser = Actions(app.test_client(), mailbox)
    reader_browser.login(remember="y")
    copied = {
        name: reader_browser.client.get_cookie(name).value for name in ("session", "remember_token")
    }
    reader_browser.logout()
    for cookies in ({"session": copied["session"]}, {"remember_token": copied["remember_token"]}):
        thief = app.test_client()
        for name, value in cookies.items():
            thief.set_cookie(name, value)
        assert thief.get("/account").status_code == 302, cookies.keys()


def test_guessing_one_accounts_password_under_other_spellings_hits_the_limit(app, reader, mailbox):
    app.config["RATE_LIMIT_LOGIN"] = "5 per minute"
    spellings = [
        "reader@" + fullwidth("example") + ".org",  # the lookup finds reader@example.org
        "READER@EXAMPLE.ORG",
        fullwidth("reader") + "@example.org",
        "\u02b3eader@example.org",  # MODIFIER LETTER SMALL R: "r" under NFKC
        "reader\uff20example.org",  # FULLWIDTH COMMERCIAL AT
    ]
    codes = [
        from_address(app, mailbox, f"10.0.0.{i}").login(email=email, password="wrong password!!")
        for i, email in enumerate(spellings)
    ]
    assert [c.status_code for c in codes] == [400] * 5
    page = from_address(app, mailbox, "10.0.1.1").login(email="reader@example.org")
    assert page.status_code == 429


def fullwidth(text: str) -> str:
    """The fullwidth forms of ASCII letters (U+FF41 for "a", ...)."""
    return "".join(chr(ord(ch) - 0x61 + 0xFF41) for ch in text)


def from_address(app, mailbox, address: str) -> Actions:
    """A browser on its own network address, so that only the per-account limit can apply."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Actions(client, mailbox)
