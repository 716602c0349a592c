"""Sign-in by e-mail under attack: no enumeration, rate limits, CSRF, hostile input; and the
invitation function member imports call."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from membership.accounts import signin_links
from membership.accounts.background import background
from membership.accounts.models import SignInRequest, User
from membership.extensions import db
from membership.mail import SUBJECTS, MailJob
from tests.accounts.test_no_enumeration import answering, owner, work  # noqa: F401 - fixtures
from tests.accounts.test_signin_by_email import ask, confirm, enter_code, mailed, signed_in
from tests.conftest import Actions, csrf_token
from tests.factories import make_user

OWNER = "owner@example.org"


def asking(app, mailbox, work, email: str):  # noqa: F811 - the fixture's value
    """Ask for a link for `email` from a fresh browser: the answer and the work before it."""
    reader = Actions(app.test_client(), mailbox)
    token = csrf_token(reader.client, "/login")
    return answering(
        app,
        work,
        lambda: reader.client.post("/login/email", data={"email": email, "csrf_token": token}),
    )


# --- no enumeration ------------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_answer_and_work(app, owner, mailbox, work):  # noqa: F811
    seen, _ = work
    known_answer, known = asking(app, mailbox, work, OWNER)
    assert (seen["mails"], seen["mail_first"]) == (1, 0)  # the mail left after the answer
    unknown_answer, unknown = asking(app, mailbox, work, "nobody@example.org")
    assert (seen["mails"], seen["mail_first"]) == (1, 0)  # a "join with this address" mail
    assert known_answer["status"] == unknown_answer["status"] == 303
    assert known_answer["headers"] == unknown_answer["headers"]
    assert known_answer["cookies"] == unknown_answer["cookies"]
    assert known_answer["body"] == unknown_answer["body"]
    assert known == unknown  # the same SQL, hashes and mail on the request thread: none
    assert known["statements"] == known["hashes"] == known["mail_in_request"] == 0
    assert mailbox.last_to(OWNER)["Subject"] == "Your sign-in link"
    assert mailbox.last_to("nobody@example.org")["Subject"] == "Confirm your e-mail address to join"


def readable(response, email: str) -> tuple[int, str]:
    """A page as one reader sees it, with the address they typed and the CSRF token (random
    per session) taken out."""
    html = response.get_data(as_text=True).replace(email, "ADDRESS")
    return response.status_code, re.sub(r'name="csrf_token"[^>]*>', "", html)


def test_the_inbox_page_reads_alike_for_known_and_unknown(app, owner, mailbox):  # noqa: F811
    pages = []
    for email in (OWNER, "nobody@example.org"):
        auth = Actions(app.test_client(), mailbox)
        response = ask(auth, email)
        pages.append(readable(auth.client.get(response.headers["Location"]), email))
    assert pages[0] == pages[1]


def test_a_code_for_an_unknown_address_answers_like_a_wrong_one(app, owner, mailbox):  # noqa: F811
    answers = []
    for email in (OWNER, "nobody@example.org"):
        auth = Actions(app.test_client(), mailbox)
        ask(auth, email)
        answers.append(readable(enter_code(auth, "000000", email=email), email))
    assert answers[0][0] == 400
    assert answers[0] == answers[1]


# --- rate limits ---------------------------------------------------------------------------


@pytest.mark.config(RATE_LIMIT_SIGN_IN_ADDRESS="2 per minute")
def test_links_are_limited_per_address(app, owner, mailbox):  # noqa: F811
    statuses = []
    for spelling in ("owner@example.org", "OWNER@example.org", "owner@EXAMPLE.org"):
        auth = Actions(app.test_client(), mailbox)  # a fresh browser each time: the same limit
        statuses.append(ask(auth, spelling).status_code)
    assert statuses == [303, 303, 429]
    assert len(mailbox.to(OWNER)) == 2
    other = Actions(app.test_client(), mailbox)
    assert ask(other, "someone@example.org").status_code == 303


@pytest.mark.config(RATE_LIMIT_SIGN_IN_LINK="2 per minute")
def test_links_are_limited_per_client_address(app, mailbox):
    auth = Actions(app.test_client(), mailbox)
    statuses = [ask(auth, f"reader{i}@example.org").status_code for i in range(3)]
    assert statuses == [303, 303, 429]
    background(app).wait()
    assert len(mailbox.messages) == 2


@pytest.mark.config(RATE_LIMIT_LOGIN="3 per minute")
def test_codes_are_limited_per_client_address(app, owner, mailbox):  # noqa: F811
    auth = Actions(app.test_client(), mailbox)
    ask(auth, OWNER)
    _, code = mailed(mailbox, OWNER)
    statuses = [enter_code(auth, "000000", email=f"x{i}@example.org").status_code for i in range(3)]
    assert statuses == [400, 400, 400]
    assert enter_code(auth, code, email=OWNER).status_code == 429
    assert not signed_in(auth.client)


@pytest.mark.config(RATE_LIMIT_LOGIN="3 per minute")
def test_codes_are_limited_per_address_from_any_client(app, owner, mailbox):  # noqa: F811
    ask(Actions(app.test_client(), mailbox), OWNER)
    _, code = mailed(mailbox, OWNER)
    statuses = []
    for i in range(4):  # each try from another client address
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        statuses.append(enter_code(Actions(client, mailbox), "000000" if i < 3 else code,
                                   email=OWNER).status_code)  # fmt: skip
    assert statuses == [400, 400, 400, 429]


# --- CSRF ----------------------------------------------------------------------------------


def test_every_form_needs_its_csrf_token(app, owner, mailbox):  # noqa: F811
    auth = Actions(app.test_client(), mailbox)
    ask(auth, OWNER)
    link, code = mailed(mailbox, OWNER)
    forged = app.test_client()  # a page elsewhere posting into the reader's browser
    forged.get(link)
    assert forged.post("/login/email", data={"email": OWNER}).status_code == 400
    assert forged.post("/login/code", data={"email": OWNER, "code": code}).status_code == 400
    assert forged.post(link, data={}).status_code == 400
    assert not signed_in(forged)
    background(app).wait()
    assert len(mailbox.to(OWNER)) == 1  # the forged request sent nothing
    assert confirm(auth, link).status_code == 303  # nor used anything up


# --- hostile input -------------------------------------------------------------------------

HOSTILE = ["", " ", "x" * 5000, "<script>", "a@b", "@example.org", "\u202e@x.org", "٣@x.org",
           "'; DROP TABLE users;--", "owner@example.org\r\nBcc: x@y.org",
           "\ufb00@\uff45xample.org"]  # fmt: skip


def test_hostile_input_never_reaches_a_500(app, owner, mailbox):  # noqa: F811
    auth = Actions(app.test_client(), mailbox)
    bad = []
    for value in HOSTILE:
        for path, data, page in [
            ("/login/email", {"email": value}, "/login"),
            ("/login/code", {"email": value, "code": value}, "/login/code"),
            ("/login/code", {"email": OWNER, "code": value}, "/login/code"),
        ]:
            response = auth.post(path, data, form_page=page)
            if response.status_code >= 500 or response.status_code not in (303, 400):
                bad.append((path, value, response.status_code))
    for token in ["x", "x" * 300, "x" * 5000, "..%2F..%2Fetc", "%ff%fe", "a.b.c", "%e2%80%ae"]:
        for method in (auth.client.get, auth.client.post):
            status = method(f"/login/email/{token}").status_code
            if status >= 500:
                bad.append((token, method.__name__, status))
    assert not bad, bad
    background(app).wait()
    assert not signed_in(auth.client)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_nul_in_the_link_is_refused_at_the_edge(client):
    assert client.get("/login/email/abc%00def").status_code == 400


# --- the invitation members imports send ----------------------------------------------------


def test_send_sign_in_link_queues_the_mail_in_the_readers_language(app, mailbox):
    with app.app_context():
        user = make_user(email="imported@example.org", locale="ru", verified=False)
        signin_links.send_sign_in_link(user, next_url="/plans")
        job = db.session.scalar(select(MailJob).where(MailJob.template == "sign_in_link"))
        assert job is not None and job.locale == "ru"  # queued, flushed, not committed:
        db.session.rollback()  # the caller's rollback takes it back
        assert db.session.scalar(select(func.count()).select_from(SignInRequest)) == 0
        user = db.session.get(User, user.id)
        signin_links.send_sign_in_link(user, next_url="/plans")
        db.session.commit()
        with force_locale("ru"):
            subject = str(SUBJECTS["sign_in_link"])
    message = mailbox.last_to("imported@example.org")
    assert str(make_header(decode_header(message["Subject"]))) == subject
    link = re.search(r"/login/email/[\w-]+", mailbox.body(message)).group(0)
    auth = Actions(app.test_client(), mailbox)
    assert confirm(auth, link).headers["Location"] == "/plans"
    with app.app_context():
        assert db.session.scalar(
            select(User).where(User.email == "imported@example.org")
        ).is_verified
