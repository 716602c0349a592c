"""Whether an address has an account cannot be read from registration or reset: the answers are
the same, the request does the same work, and the mail leaves only after the answer is sent."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from membership import mail
from membership.accounts import passwords
from membership.accounts.background import background
from membership.extensions import db, limiter
from tests.conftest import Actions, csrf_token
from tests.factories import make_user


@pytest.fixture
def owner(app):
    with app.app_context():
        return make_user(email="owner@example.org").id


@pytest.fixture
def work(app, monkeypatch):
    """What the request thread does that takes time (argon2 hashes, SQL statements, SMTP), and
    whether each mail waited for the answer: delivery blocks until the test has the answer, so a
    mail sent by the request itself would only go after a time-out."""
    seen = {"hashes": 0, "statements": 0, "mail_in_request": 0, "mails": 0, "mail_first": 0}
    answered = threading.Event()
    request_thread = threading.get_ident()
    real_hash, real_verify = passwords.hash_password, passwords.verify_password

    def on_request_thread(name):
        if threading.get_ident() == request_thread:
            seen[name] += 1

    def hash_password(password):
        on_request_thread("hashes")
        return real_hash(password)

    def verify_password(password_hash, password):
        on_request_thread("hashes")
        return real_verify(password_hash, password)

    real_deliver = mail.deliver

    def deliver(message):
        on_request_thread("mail_in_request")
        if not answered.wait(timeout=5):
            seen["mail_first"] += 1
        seen["mails"] += 1
        return real_deliver(message)

    monkeypatch.setattr(passwords, "hash_password", hash_password)
    monkeypatch.setattr(passwords, "verify_password", verify_password)
    monkeypatch.setattr(mail, "deliver", deliver)
    with app.app_context():
        engine = db.engine

    def count(*args):
        on_request_thread("statements")

    event.listen(engine, "before_cursor_execute", count)
    yield seen, answered
    event.remove(engine, "before_cursor_execute", count)


def answer_shape(response) -> dict:
    """Everything a visitor can read from an answer, except the signed values of cookies."""
    cookies = sorted(
        (c.split("=", 1)[0], sorted(part.strip() for part in c.split(";")[1:]))
        for c in response.headers.getlist("Set-Cookie")
    )
    headers = sorted(
        (name, value)
        for name, value in response.headers
        # the rate limit's headers count seconds and attempts: not about the address
        if name not in ("Set-Cookie", "Date", "Retry-After") and not name.startswith("X-RateLimit")
    )
    return {
        "status": response.status_code,
        "body": response.get_data(),
        "headers": headers,
        "cookies": cookies,
    }


def registering(app, mailbox, work, email: str) -> tuple[dict, dict]:
    """Register `email` from a fresh browser: the answer, and the work done before it."""
    return answering(app, work, lambda: Actions(app.test_client(), mailbox).register(email=email))


def answering(app, work, send) -> tuple[dict, dict]:
    """Send a request: the answer, and what the request thread did before it came back; then
    let the mail go and wait for what runs after the answer."""
    seen, answered = work
    with app.app_context():
        limiter.reset()
    answered.clear()
    for key in seen:
        seen[key] = 0
    response = send()
    during = dict(seen)
    answered.set()
    background(app).wait()
    return answer_shape(response), during


def test_registering_a_taken_address_answers_like_a_free_one(app, owner, mailbox, work):
    taken, _ = registering(app, mailbox, work, "OWNER@example.org")
    free, _ = registering(app, mailbox, work, "newcomer@example.org")
    assert taken["status"] == free["status"] == 303
    assert taken["body"] == free["body"]
    assert taken["headers"] == free["headers"]
    assert taken["cookies"] == free["cookies"]  # the same cookies, with the same attributes


def test_registering_does_the_same_work_for_taken_and_free_addresses(app, owner, mailbox, work):
    seen, _ = work
    _, taken = registering(app, mailbox, work, "owner@example.org")
    assert (seen["mails"], seen["mail_first"]) == (1, 0)  # "someone tried your address"
    _, free = registering(app, mailbox, work, "newcomer@example.org")
    assert (seen["mails"], seen["mail_first"]) == (1, 0)  # "confirm your address"
    assert taken["hashes"] == free["hashes"] == 1
    assert taken["mail_in_request"] == free["mail_in_request"] == 0
    assert mailbox.last_to("owner@example.org")["Subject"] == (
        "Someone tried to register with your e-mail address"
    )
    assert mailbox.last_to("newcomer@example.org")["Subject"] == "Confirm your e-mail address"


def test_the_owner_is_told_once_an_hour_however_often_the_address_is_tried(
    app, owner, mailbox, work
):
    for _ in range(3):
        registering(app, mailbox, work, "owner@example.org")
    assert len(mailbox.to("owner@example.org")) == 1


def resetting(app, mailbox, work, email: str) -> tuple[dict, dict]:
    """Ask for a reset link from a fresh browser: the answer and the work done before it."""
    reader = Actions(app.test_client(), mailbox)
    token = csrf_token(reader.client, "/reset-password")
    return answering(
        app,
        work,
        lambda: reader.client.post("/reset-password", data={"email": email, "csrf_token": token}),
    )


def test_reset_does_the_same_work_for_known_and_unknown_addresses(app, owner, mailbox, work):
    seen, _ = work
    known_answer, known = resetting(app, mailbox, work, "owner@example.org")
    assert (seen["mails"], seen["mail_first"]) == (1, 0)
    unknown_answer, unknown = resetting(app, mailbox, work, "nobody@example.org")
    assert seen["mails"] == 0
    assert known_answer["status"] == unknown_answer["status"] == 303
    assert known_answer["headers"] == unknown_answer["headers"]
    assert known_answer["cookies"] == unknown_answer["cookies"]
    assert known == unknown
    assert known["mail_in_request"] == 0
    assert mailbox.last_to("owner@example.org")["Subject"] == "Reset your password"
