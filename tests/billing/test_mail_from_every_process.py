"""Mail queued by a Stripe handler reaches the reader whichever process ran the handler: the
webhook request, `flask worker`, `flask stripe replay` or `flask stripe process-pending`."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from membership import mail
from membership.billing import events
from membership.extensions import db
from tests.billing.conftest import join, membership_of
from tests.conftest import PRIVATE_REDIS

pytestmark = pytest.mark.config(WEBHOOK_PROCESSING="queued")

WELCOME = "Welcome: your membership is active"
RECEIPT = "Your membership payment: receipt"
JOINED = {"membership_welcome": "sent", "membership_receipt": "sent"}


def decoded(header: str) -> str:
    """A header as the reader's mail program shows it."""
    return str(make_header(decode_header(header)))


def subjects(mailbox, address: str = "reader@example.org") -> list[str]:
    """The subjects of the mail a reader received, in order."""
    return [m["Subject"] for m in mailbox.to(address)]


def mail_statuses(app) -> dict[str, str]:
    """Each queued mail's template and status."""
    with app.app_context():
        return dict(db.session.execute(select(mail.MailJob.template, mail.MailJob.status)).all())


def test_the_worker_delivers_the_welcome_mail_its_event_queued(
    app, reader, auth, stripe_world, runner, mailbox
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()  # stored and answered; nothing ran yet
    assert mailbox.to("reader@example.org") == []

    result = runner.invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert sorted(subjects(mailbox)) == [WELCOME, RECEIPT]  # joining: a welcome and a receipt
    assert mail_statuses(app) == JOINED


@pytest.mark.config(REDIS_URL=PRIVATE_REDIS)
def test_with_redis_the_worker_runs_the_event_and_then_sends_its_mail(
    app, reader, auth, stripe_world, runner, mailbox
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()

    result = runner.invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert sorted(subjects(mailbox)) == [WELCOME, RECEIPT]  # joining: a welcome and a receipt
    assert mail_statuses(app) == JOINED


def test_the_worker_loop_delivers_mail_without_waiting_for_its_end(
    app, reader, auth, stripe_world, mailbox
):
    """The long-running worker keeps one app context for its life: mail must not wait for it."""
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    with app.app_context():
        counts = events.run_due()
        assert counts.get("processed")
        assert WELCOME in subjects(mailbox)  # context still open


def test_stripe_replay_delivers_the_mail_its_event_queued(
    app, reader, auth, stripe_world, runner, mailbox
):
    stripe_world.pay(join(auth))  # never delivered: replay fetches each event from Stripe
    for event in stripe_world.new_events():
        result = runner.invoke(args=["stripe", "replay", event["id"]])
        assert result.exit_code == 0, result.output

    assert sorted(subjects(mailbox)) == [WELCOME, RECEIPT]  # joining: a welcome and a receipt
    assert mail_statuses(app) == JOINED


def test_process_pending_delivers_the_mail_its_events_queued(
    app, reader, auth, stripe_world, runner, mailbox
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()  # stored; no worker ran them

    result = runner.invoke(args=["stripe", "process-pending", "--older-than", "0"])

    assert result.exit_code == 0, result.output
    assert sorted(subjects(mailbox)) == [WELCOME, RECEIPT]  # joining: a welcome and a receipt
    assert mail_statuses(app) == JOINED


def test_an_event_that_fails_sends_none_of_its_mail(
    app, reader, auth, stripe_world, runner, mailbox, monkeypatch
):
    original = events.handlers_for

    def failing_after_the_mail(kind):
        handlers = original(kind)
        if not handlers:
            return handlers

        def boom(event):
            raise RuntimeError("the database went away")

        return [*handlers, boom]  # every real handler ran (and queued its mail), then a failure

    monkeypatch.setattr(events, "handlers_for", failing_after_the_mail)
    stripe_world.pay(join(auth))
    stripe_world.deliver()

    result = runner.invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert "failed" in result.output
    assert mailbox.messages == []
    assert mail_statuses(app) == {}  # rolled back with the event's work
    assert membership_of(app, reader) is None


@pytest.mark.config(BASE_URL="http://members.example.net:8088")
def test_the_workers_mail_greets_the_reader_and_links_to_the_site(
    app, reader, auth, stripe_world, runner, mailbox
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    runner.invoke(args=["worker", "--burst"])

    (welcome,) = [m for m in mailbox.to("reader@example.org") if m["Subject"] == WELCOME]
    body = mailbox.body(welcome)
    assert body.splitlines()[0] == "Hello Nino,"
    assert "Your account: http://members.example.net:8088/account" in body
    assert "at http://members.example.net:8088." in body
    assert "127.0.0.1" not in body


def test_the_demo_seed_delivers_every_mail_its_sandbox_payments_queued(
    app, runner, stripe_world, mailbox
):
    result = runner.invoke(args=["demo", "seed", "--members", "3"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        statuses = list(db.session.scalars(select(mail.MailJob.status)))
    assert len(statuses) >= 4 and set(statuses) == {"sent"}  # a welcome and three receipts
    assert {WELCOME, RECEIPT} <= set(subjects(mailbox, "member@example.org"))
    # The Armenian-speaking reader joined and cancelled: three mails, in Armenian.
    with app.test_request_context(), force_locale("hy"):
        armenian = {gettext(WELCOME), gettext(RECEIPT), gettext("Your membership is cancelled")}
    assert "Your membership is cancelled" not in armenian
    assert {decoded(m["Subject"]) for m in mailbox.to("anahit@example.org")} == armenian
    assert mailbox.body(mailbox.last_to("member@example.org")).splitlines()[0] == (
        "Hello Demo Member,"
    )
