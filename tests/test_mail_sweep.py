"""Mail that could not leave waits in `mail_jobs` and the worker sends it when it can: a mail
SMTP refused after its retry pause, one a queue lost after two minutes, and never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from membership import mail
from membership.extensions import db
from membership.timeutil import utcnow


def _job() -> mail.MailJob:
    return db.session.scalar(select(mail.MailJob))


@pytest.mark.config(MAIL_PORT=1)
def test_a_mail_smtp_refused_goes_out_once_after_its_retry_pause(
    app, app_ctx, mailbox, smtp_server
):
    mail.queue_mail("password_changed", "a@example.org", {"name": "Ani"})
    db.session.commit()  # SMTP refuses: the commit stands, the mail waits
    job = _job()
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.next_attempt_at > utcnow() + timedelta(seconds=20)  # MAIL_RETRY_SECONDS: 30

    app.config["MAIL_PORT"] = smtp_server[0].port  # SMTP is back
    assert mail.sweep() == 0  # not due yet
    db.session.execute(update(mail.MailJob).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert mail.sweep() == 1
    assert mail.sweep() == 0
    assert len(mailbox.to("a@example.org")) == 1
    assert (_job().status, _job().attempts) == ("sent", 2)


@pytest.mark.config(MAIL_PORT=1, MAIL_RETRY_SECONDS=10)
def test_the_retry_pause_doubles_with_each_failure(app, app_ctx):
    mail.queue_mail("password_changed", "a@example.org")
    db.session.commit()
    pauses = []
    for _ in range(3):
        job = _job()
        pauses.append(round((job.next_attempt_at - utcnow()).total_seconds()))
        db.session.execute(update(mail.MailJob).values(next_attempt_at=utcnow()))
        db.session.commit()
        mail.sweep()
    assert pauses == [10, 20, 40]


def test_pending_mail_that_no_queue_delivered_is_swept_after_two_minutes(app, app_ctx, mailbox):
    mail.queue_mail("password_changed", "a@example.org")
    mail.queue_mail("password_changed", "b@example.org")
    db.session.info.pop("membership.mail.pending")  # handed to a Redis that then lost them
    db.session.commit()
    assert mail.sweep() == 0  # a fresh hand-off may still be on its way
    db.session.execute(
        update(mail.MailJob)
        .where(mail.MailJob.recipient == "a@example.org")
        .values(created_at=utcnow() - timedelta(minutes=3))
    )
    db.session.commit()
    assert mail.sweep() == 1
    assert [m["To"] for m in mailbox.messages] == ["a@example.org"]
    job_id = db.session.scalar(
        select(mail.MailJob.id).where(mail.MailJob.recipient == "a@example.org")
    )
    assert mail.deliver_job(job_id) is False  # the queue's copy, should it turn up: nothing
    assert len(mailbox.messages) == 1


def test_the_worker_burst_sends_due_mail(app, runner, mailbox):
    with app.app_context():
        mail.queue_mail("password_changed", "c@example.org")
        db.session.info.pop("membership.mail.pending")
        db.session.commit()
        db.session.execute(update(mail.MailJob).values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert len(mailbox.to("c@example.org")) == 1
