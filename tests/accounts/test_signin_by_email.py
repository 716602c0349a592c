"""Sign-in by e-mail: a link with a confirm button and a 6-digit code, each once, for 15 minutes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership import attribution
from membership.accounts.background import background
from membership.accounts.models import SignInRequest, User
from membership.extensions import db
from membership.mail import MailJob
from tests.conftest import PASSWORD, Actions, csrf_token
from tests.factories import make_user

READER = "reader@example.org"
NEWCOMER = "newcomer@example.org"
USED = "This sign-in link does not work any more"
WRONG_CODE = "That code is wrong, used or expired."


@pytest.fixture
def reader(app):
    with app.app_context():
        return make_user(email=READER, verified=False).id


def ask(auth: Actions, email: str = READER, next_url: str | None = None):
    """Press "Send me a sign-in link" on the login page; wait for the mail it sends."""
    path = "/login/email" + (f"?next={next_url}" if next_url else "")
    response = auth.post(path, {"email": email}, form_page="/login")
    background(auth.client.application).wait()  # the look-up and the mail run after the answer
    return response


def mailed(mailbox, email: str = READER) -> tuple[str, str]:
    """The link's path and the code in the newest mail to `email`."""
    message = mailbox.last_to(email)
    code = re.search(r"^ {4}(\d{6})\r?$", mailbox.body(message), re.M)
    assert code, mailbox.body(message)
    return mailbox.link_in(message, "/login/email/"), code.group(1)


def words(response) -> str:
    """A page's text without its tags."""
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True))


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def confirm(auth: Actions, link: str, **data):
    """Press the button on the link's page."""
    return auth.post(link, data)


def enter_code(auth: Actions, code: str, email: str = READER):
    return auth.post("/login/code", {"email": email, "code": code})


# --- the link ------------------------------------------------------------------------------


def test_opening_the_link_shows_a_button_and_signs_nobody_in(reader, client, auth, mailbox):
    assert ask(auth).headers["Location"].endswith("/login/code")
    link, _ = mailed(mailbox)
    for _ in range(3):  # a mail scanner opening it, then the reader
        page = client.get(link)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f"Sign in as {READER}?" in words(page)
        assert '<button type="submit">Sign in</button>' in html
        assert not signed_in(client)
    response = confirm(auth, link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert signed_in(client)


def test_the_link_works_once(reader, app, client, auth, mailbox):
    ask(auth)
    link, code = mailed(mailbox)
    assert confirm(auth, link).status_code == 303
    auth.logout()
    page = client.get(link)
    assert page.status_code == 400
    assert USED in page.get_data(as_text=True)
    again = confirm(auth, link)
    assert again.status_code == 400
    assert USED in again.get_data(as_text=True)
    assert not signed_in(client)
    # using the link used up the code of the same mail
    assert enter_code(auth, code).status_code == 400
    assert not signed_in(client)


def test_the_link_expires_after_15_minutes(reader, app, app_clock, client, auth, mailbox):
    ask(auth)
    link, code = mailed(mailbox)
    app_clock.offset = timedelta(minutes=14, seconds=50)
    assert client.get(link).status_code == 200
    app_clock.offset = timedelta(minutes=15, seconds=1)
    page = client.get(link)
    assert page.status_code == 400 and USED in page.get_data(as_text=True)
    assert confirm(auth, link).status_code == 400
    assert enter_code(auth, code).status_code == 400
    assert not signed_in(client)


def test_a_link_opened_in_time_but_confirmed_too_late_fails(
    reader, app_clock, client, auth, mailbox
):
    ask(auth)
    link, _ = mailed(mailbox)
    token = csrf_token(client, link)
    app_clock.offset = timedelta(minutes=16)
    assert client.post(link, data={"csrf_token": token}).status_code == 400
    assert not signed_in(client)


def test_a_newer_mail_replaces_the_older(reader, client, auth, mailbox):
    ask(auth)
    old_link, old_code = mailed(mailbox)
    ask(auth)
    new_link, new_code = mailed(mailbox)
    assert client.get(old_link).status_code == 400
    assert enter_code(auth, old_code).status_code == 400 or old_code == new_code
    assert confirm(auth, new_link).status_code == 303


def test_signing_in_by_link_proves_the_address(reader, app, auth, mailbox):
    ask(auth)
    link, _ = mailed(mailbox)
    confirm(auth, link)
    with app.app_context():
        assert db.session.get(User, reader).verified_at is not None


def test_keep_me_signed_in_on_the_confirm_page(reader, client, auth, mailbox):
    ask(auth)
    link, _ = mailed(mailbox)
    response = confirm(auth, link, remember="y")
    assert any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_next_stays_on_this_site(reader, client, auth, mailbox):
    ask(auth, next_url="/plans")
    link, _ = mailed(mailbox)
    assert confirm(auth, link).headers["Location"] == "/plans"
    auth.logout()
    ask(auth, next_url="https://evil.example/")
    link, _ = mailed(mailbox)
    assert confirm(auth, link).headers["Location"] == "/account"
    auth.logout()
    ask(auth, next_url="//evil.example/")
    _, code = mailed(mailbox)
    assert enter_code(auth, code).headers["Location"] == "/account"


# --- the code ------------------------------------------------------------------------------


def test_the_code_works_once(reader, client, auth, mailbox):
    ask(auth)
    link, code = mailed(mailbox)
    page = client.get("/login/code").get_data(as_text=True)
    assert f"We sent a mail to {READER}" in re.sub(r"<[^>]+>", "", page)
    assert f'<input type="hidden" name="email" value="{READER}">' in page
    response = enter_code(auth, f"{code[:3]} {code[3:]}")  # as some readers type it
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert signed_in(client)
    auth.logout()
    again = enter_code(auth, code)
    assert again.status_code == 400
    assert WRONG_CODE in again.get_data(as_text=True)
    assert not signed_in(client)
    assert client.get(link).status_code == 400  # the code used up the link


def test_the_code_works_in_another_browser(reader, app, auth, mailbox):
    ask(auth)
    _, code = mailed(mailbox)
    other = Actions(app.test_client(), mailbox)  # no address remembered: the form asks for it
    page = other.client.get("/login/code").get_data(as_text=True)
    assert 'type="email"' in page
    assert enter_code(other, code).status_code == 303
    assert signed_in(other.client)


def test_the_code_expires_after_15_minutes(reader, app_clock, client, auth, mailbox):
    ask(auth)
    _, code = mailed(mailbox)
    app_clock.offset = timedelta(minutes=15, seconds=1)
    assert enter_code(auth, code).status_code == 400
    assert not signed_in(client)


def test_five_wrong_codes_void_the_code_but_not_the_link(reader, client, auth, mailbox):
    ask(auth)
    link, code = mailed(mailbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = enter_code(auth, wrong)
        assert response.status_code == 400
        assert WRONG_CODE in response.get_data(as_text=True)
    response = enter_code(auth, code)  # the right one, too late
    assert response.status_code == 400
    assert not signed_in(client)
    # Guessing at someone's code cannot lock them out: the link of their mail still works.
    assert confirm(auth, link).status_code == 303


def test_the_code_is_for_its_own_address(reader, app, client, auth, mailbox):
    with app.app_context():
        make_user(email="other@example.org")
    ask(auth)
    _, code = mailed(mailbox)
    assert enter_code(auth, code, email="other@example.org").status_code == 400
    assert not signed_in(client)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "x" * 5000, "\u202e"])
def test_a_malformed_code_is_a_form_error(reader, auth, mailbox, code):
    ask(auth)
    response = enter_code(auth, code)
    assert response.status_code == 400
    assert "Enter the 6 digits from the mail." in response.get_data(as_text=True)


# --- joining with an e-mail address only ---------------------------------------------------


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_joining_with_an_address_only(app, client, auth, mailbox):
    client.set_cookie("lang", "ka")
    ask(auth, NEWCOMER)
    assert users(app) == 0  # asking creates nobody: only the owner of the address can
    with app.app_context():  # the mail speaks the language of the page it was asked from
        job = db.session.scalar(select(MailJob).where(MailJob.recipient == NEWCOMER))
        assert job.locale == "ka"
    link, _ = mailed(mailbox, NEWCOMER)
    client.set_cookie("lang", "en")
    page = words(client.get(link))
    assert f"Create an account with the address {NEWCOMER} and sign in?" in page
    assert users(app) == 0
    response = confirm(auth, link)
    assert response.status_code == 303
    assert signed_in(client)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == NEWCOMER))
        assert user.is_verified and not user.has_password
        assert user.locale == "ka"  # the language of the page it was asked from
    account = client.get("/account").get_data(as_text=True)  # in the account's language
    assert "პაროლის დაყენება (არასავალდებულო)" in account  # "Set a password (optional)"


def test_joining_by_code(app, client, auth, mailbox):
    ask(auth, NEWCOMER)
    _, code = mailed(mailbox, NEWCOMER)
    assert enter_code(auth, code, email=NEWCOMER).status_code == 303
    assert signed_in(client)
    assert users(app) == 1


def test_the_join_mail_says_what_it_is(auth, mailbox):
    ask(auth, NEWCOMER)
    message = mailbox.last_to(NEWCOMER)
    assert message["Subject"] == "Confirm your e-mail address to join"
    body = mailbox.body(message)
    assert "No account uses it yet." in body
    assert "no account is created" in body
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "Create my account" in html.get_payload(decode=True).decode()


def test_a_password_stays_optional_and_can_be_set_later(app, client, auth, mailbox):
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    confirm(auth, link)
    page = client.get("/account/password").get_data(as_text=True)
    assert "Set a password" in page and "Current password" not in page
    response = auth.post("/account/password", {"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303
    auth.logout()
    assert auth.login(email=NEWCOMER).status_code == 303


def test_password_login_fails_alike_for_an_account_without_password(app, reader, auth, mailbox):
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    confirm(auth, link)
    auth.logout()
    without = auth.login(email=NEWCOMER, password="anything at all here")
    wrong = auth.login(email=READER, password="anything at all here")
    unknown = auth.login(email="nobody@example.org", password="anything at all here")
    assert without.status_code == wrong.status_code == unknown.status_code == 400
    assert without.get_data() == wrong.get_data().replace(READER.encode(), NEWCOMER.encode())
    assert "That e-mail and password do not match an account." in without.get_data(as_text=True)


def test_a_reader_without_password_changes_address_and_deletes_without_one(
    app, client, auth, mailbox
):
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    confirm(auth, link)
    assert "Current password" not in client.get("/account/email").get_data(as_text=True)
    assert auth.post("/account/email", {"email": "moved@example.org"}).status_code == 303
    response = auth.post("/account/delete", {"confirm": "y"})
    assert response.status_code == 303
    with app.app_context():  # the requests went with the address
        assert db.session.scalar(select(func.count()).select_from(SignInRequest)) == 0


def test_a_reader_with_a_password_still_confirms_with_it(reader, client, auth, mailbox):
    auth.login()
    assert auth.post("/account/delete", {"confirm": "y"}).status_code == 400
    assert signed_in(client)


# --- what is stored ------------------------------------------------------------------------


def test_only_hashes_are_kept(reader, app, auth, mailbox):
    ask(auth)
    link, code = mailed(mailbox)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalar(select(SignInRequest))
        values = " ".join(str(v) for v in vars(stored).values())
        assert token not in values and code not in values
        job = db.session.scalar(select(MailJob).where(MailJob.template == "sign_in_link"))
        assert job.status == "sent"
        assert token not in str(job.context) and code not in str(job.context)


# --- an account registered before its address was proven -----------------------------------


def test_a_password_chosen_before_the_address_was_proven_goes(app, client, auth, mailbox):
    squatter = Actions(app.test_client(), mailbox)  # registers the address first, and waits
    assert squatter.register(email=NEWCOMER).status_code == 303
    assert signed_in(squatter.client)
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    assert "Sign in as" in words(client.get(link))  # the address has an account now
    response = confirm(auth, link)
    assert response.status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "The password chosen before it was confirmed has been removed" in page
    assert "Set a password (optional)" in page
    assert not signed_in(squatter.client)  # their session ended
    squatter.client.delete_cookie("session")
    assert squatter.login(email=NEWCOMER).status_code == 400  # their password opens nothing


def test_a_proven_accounts_password_stays(app, client, auth, mailbox):
    with app.app_context():
        make_user(email=NEWCOMER, verified=True)
    other_device = Actions(app.test_client(), mailbox)
    other_device.login(email=NEWCOMER)
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    confirm(auth, link)
    assert signed_in(other_device.client)
    auth.logout()
    assert auth.login(email=NEWCOMER).status_code == 303


def test_joining_by_e_mail_keeps_where_the_reader_came_from(app, client, auth, mailbox):
    client.get("/plans?utm_source=newsletter&utm_medium=email&ref=housing")
    ask(auth, NEWCOMER)
    link, _ = mailed(mailbox, NEWCOMER)
    assert confirm(auth, link).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == NEWCOMER))
        touch = attribution.signup_of(user.id)
        assert (touch.source, touch.medium, touch.ref) == ("newsletter", "email", "housing")
