"""Mail leaves only after the transaction commits, once per dedupe key."""

from __future__ import annotations

import email
import email.header

import pytest
from sqlalchemy import select

from membership import mail
from membership.extensions import db
from tests.conftest import PRIVATE_REDIS


def test_sent_after_commit_through_smtp(app, mailbox, app_ctx):
    mail.queue_mail("password_changed", "a@example.org", {"name": "Ani"})
    db.session.flush()
    assert mailbox.messages == []  # not before the commit
    db.session.commit()  # the commit itself hands the mail on
    message = mailbox.last_to("a@example.org")
    assert message["Subject"] == "Your password was changed"
    assert "Hello Ani," in mailbox.body(message)
    assert db.session.scalar(select(mail.MailJob.status)) == "sent"


def test_rolled_back_mail_is_never_sent(app, mailbox, app_ctx):
    mail.queue_mail("password_changed", "a@example.org", {"name": "Ani"})
    db.session.rollback()
    db.session.commit()  # a later commit in the same session sends nothing of it
    assert mailbox.messages == []
    assert db.session.scalar(select(mail.MailJob.id)) is None


def test_mail_of_a_rolled_back_savepoint_is_never_sent(app, mailbox, app_ctx):
    with db.session.begin_nested() as savepoint:
        mail.queue_mail("password_changed", "gone@example.org", {"name": "Ani"})
        savepoint.rollback()
    mail.queue_mail("password_changed", "kept@example.org", {"name": "Ani"})
    db.session.commit()
    assert [m["To"] for m in mailbox.messages] == ["kept@example.org"]


def test_a_released_savepoint_sends_nothing_before_its_transaction_commits(app, mailbox, app_ctx):
    mail.queue_mail("password_changed", "first@example.org", {"name": "Ani"})
    with db.session.begin_nested():  # as services do around an insert that may conflict
        mail.queue_mail("password_changed", "second@example.org", {"name": "Ani"})
    assert mailbox.messages == []
    db.session.commit()
    assert sorted(m["To"] for m in mailbox.messages) == ["first@example.org", "second@example.org"]


def test_dedupe_key_sends_once(app, mailbox, app_ctx):
    assert mail.queue_mail("password_changed", "a@example.org", dedupe_key="k1") is not None
    assert mail.queue_mail("password_changed", "a@example.org", dedupe_key="k1") is None
    db.session.commit()
    assert len(mailbox.to("a@example.org")) == 1


@pytest.fixture
def russian(app, tmp_path):
    """A two-line Russian catalogue (the project ships none yet), compiled for this test only."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from membership.extensions import babel

    catalog = Catalog(locale="ru")
    catalog.add("Your password was changed", "Ваш пароль изменён")
    catalog.add("Hello %(name)s,", "Здравствуйте, %(name)s!")
    folder = tmp_path / "translations" / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    app.extensions["babel"].translation_directories = [str(tmp_path / "translations")]
    babel.domain_instance.cache.clear()  # shared by every app of the session
    yield
    babel.domain_instance.cache.clear()


def test_language_of_the_recipient(app, mailbox, app_ctx, russian):
    mail.queue_mail("password_changed", "ru@example.org", {"name": "Ani"}, locale="ru")
    mail.queue_mail("password_changed", "en@example.org", {"name": "Ani"}, locale="en")
    db.session.commit()
    russian_mail = mailbox.last_to("ru@example.org")
    assert str(email.header.make_header(email.header.decode_header(russian_mail["Subject"]))) == (
        "Ваш пароль изменён"
    )
    assert mailbox.body(russian_mail).splitlines()[0] == "Здравствуйте, Ani!"
    english = mailbox.last_to("en@example.org")
    assert english["Subject"] == "Your password was changed"
    assert mailbox.body(english).splitlines()[0] == "Hello Ani,"


def test_amounts_are_written_the_way_the_recipients_language_writes_them(app, mailbox, app_ctx):
    context = {"name": "Ani", "amount": mail.money(3000, "eur")}
    mail.queue_mail("payment_failed", "ru@example.org", context, locale="ru")
    mail.queue_mail("payment_failed", "en@example.org", context, locale="en")
    db.session.commit()
    assert "30,00\xa0€" in mailbox.body(mailbox.last_to("ru@example.org"))
    assert "€30.00" in mailbox.body(mailbox.last_to("en@example.org"))


def test_unknown_template_is_refused(app_ctx):
    with pytest.raises(ValueError, match="unknown mail template"):
        mail.queue_mail("nope", "a@example.org")


@pytest.mark.config(MAIL_SERVER=None)
def test_without_smtp_mail_goes_to_the_outbox(app, app_ctx, tmp_path):
    mail.queue_mail("password_changed", "a@example.org", {"name": "Ani"})
    db.session.commit()
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["To"] == "a@example.org"


@pytest.mark.config(MAIL_PORT=1)
def test_smtp_failure_keeps_the_job_for_a_retry(app, app_ctx, runner, mailbox):
    mail.queue_mail("password_changed", "a@example.org")
    db.session.commit()  # the commit stands although the mail could not leave
    job = db.session.scalar(select(mail.MailJob))
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.last_error
    assert mailbox.messages == []


@pytest.fixture
def redis_queue(redis_url):
    """The session's private Redis (emptied), as the mail queue's connection."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.mark.config(REDIS_URL=PRIVATE_REDIS)
def test_with_redis_the_worker_sends_after_commit(app, app_ctx, mailbox, redis_queue):
    from rq import Queue, SimpleWorker

    mail.queue_mail("password_changed", "a@example.org", {"name": "Ani"})
    db.session.commit()  # handed to the queue, not sent here
    assert mailbox.messages == []
    assert Queue("mail", connection=redis_queue).count == 1
    SimpleWorker(["mail"], connection=redis_queue).work(burst=True)
    assert mailbox.last_to("a@example.org")["Subject"] == "Your password was changed"
    assert db.session.scalar(select(mail.MailJob.status)) == "sent"
    # A job that runs twice (a worker crash and a retry) sends nothing more.
    job_id = db.session.scalar(select(mail.MailJob.id))
    assert mail.deliver_job(job_id) is False
    assert len(mailbox.to("a@example.org")) == 1


@pytest.mark.config(REDIS_URL="redis://127.0.0.1:9/0")
def test_when_redis_is_down_mail_is_sent_inline(app, app_ctx, mailbox):
    mail.queue_mail("password_changed", "a@example.org")
    db.session.commit()
    assert len(mailbox.to("a@example.org")) == 1


def test_without_redis_the_worker_runs_only_stripe_events_and_recovery_mails(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Stripe events: none due.",
        "Payment recovery mails: none due.",
    ]


@pytest.mark.config(REDIS_URL=PRIVATE_REDIS)
def test_the_worker_command_sends_queued_mail(app, runner, mailbox, redis_queue):
    with app.app_context():
        mail.queue_mail("password_changed", "b@example.org", {"name": "Ani"})
        db.session.commit()
    assert mailbox.messages == []
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert mailbox.last_to("b@example.org")["Subject"] == "Your password was changed"


@pytest.mark.config(BASE_URL="https://news.example.org", MAIL_PORT=1)
def test_links_point_at_the_site_that_queued_the_mail_whichever_process_sends_it(
    app, runner, mailbox, smtp_server
):
    with app.app_context():
        mail.queue_mail("membership_welcome", "a@example.org", {"name": "Ani", "plan": "Gold"})
        db.session.commit()  # SMTP is down: the mail waits for a retry
    # The retry runs elsewhere: a shell where BASE_URL was never set.
    app.config.update(BASE_URL="http://127.0.0.1:5000", MAIL_PORT=smtp_server[0].port)
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.output.strip() == "Sent 1 mails."
    body = mailbox.body(mailbox.last_to("a@example.org"))
    assert "Your account: https://news.example.org/account" in body
    assert "127.0.0.1" not in body


def test_the_greeting_names_the_account_at_the_recipients_address(app, mailbox, app_ctx):
    from tests.factories import make_user

    make_user(email="tamar@example.org", name="Tamar")
    mail.queue_mail("password_changed", "tamar@example.org")  # queued without a name
    mail.queue_mail("password_changed", "stranger@example.org")
    db.session.commit()
    assert mailbox.body(mailbox.last_to("tamar@example.org")).splitlines()[0] == "Hello Tamar,"
    stranger = mailbox.body(mailbox.last_to("stranger@example.org"))
    assert stranger.splitlines()[0] == "Hello,"
    assert "reader" not in stranger
