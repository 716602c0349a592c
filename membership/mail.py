"""Outgoing mail: queued in the database inside the caller's transaction, sent after commit.

The Session's after_commit hook hands it on in whichever process committed (a page, the
webhook, `flask worker`, a command): sent inline, or, when REDIS_URL is set, given to the RQ
queue "mail" that `flask worker` drains (so a webhook or a page never waits for SMTP). Without
MAIL_SERVER the message goes to the log and to `instance/outbox/` as an .eml file. A dedupe key
makes a mail that a retried webhook queues twice go out once.

The `mail_jobs` row is the truth, Redis only a hand-off: when Redis cannot be reached the mail
is sent inline instead (and the outage is logged once, not per mail); when SMTP fails the job is
kept as failed with a next attempt time (MAIL_RETRY_SECONDS, doubling); and `flask worker`
sweeps up whatever is due (a failed job's retry, or a pending job whose hand-off Redis lost).
Sending locks the row (FOR UPDATE SKIP LOCKED) and re-reads its status, so the RQ job, the sweep
and `flask mail send-pending` never send one mail twice.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale, format_date, lazy_gettext
from sqlalchemy import JSON, Integer, String, Text, and_, event, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from membership.database import insert_new
from membership.extensions import db
from membership.money import format_money
from membership.timeutil import UTCDateTime, utcnow

log = logging.getLogger(__name__)

SUBJECTS = {
    "verify_email": lazy_gettext("Confirm your e-mail address"),
    "account_exists": lazy_gettext("Someone tried to register with your e-mail address"),
    "reset_password": lazy_gettext("Reset your password"),
    "sign_in_link": lazy_gettext("Your sign-in link"),
    "sign_in_join": lazy_gettext("Confirm your e-mail address to join"),
    "password_changed": lazy_gettext("Your password was changed"),
    "email_change": lazy_gettext("Confirm your new e-mail address"),
    "email_changed": lazy_gettext("Your e-mail address was changed"),
    "account_deleted": lazy_gettext("Your account was deleted"),
    "membership_welcome": lazy_gettext("Welcome: your membership is active"),
    "membership_ended": lazy_gettext("Your membership has ended"),
    "membership_cancelled": lazy_gettext("Your membership is cancelled"),
    "membership_receipt": lazy_gettext("Your membership payment: receipt"),
    "membership_duplicate": lazy_gettext("Your second membership was cancelled and refunded"),
    "payment_failed": lazy_gettext("Your membership payment failed"),
    "payment_reminder": lazy_gettext("Reminder: your membership payment is still due"),
    "payment_last_notice": lazy_gettext("Last notice: your membership perks are about to end"),
    "trial_ending": lazy_gettext("Your free trial ends soon"),
    "renewal_notice": lazy_gettext("Your yearly membership renews soon"),
    "gift_received": lazy_gettext("You have been given a membership"),
    "gift_receipt": lazy_gettext("Your gift membership receipt"),
    "donation_receipt": lazy_gettext("Thank you for your gift: your receipt"),  # fundraisers
    "donor_statement": lazy_gettext("Your statement of gifts"),  # donors
}

_PENDING = "membership.mail.pending"
# Names the context keys erased once the mail is sent (sign-in links and codes).
_SECRET = "$secret"  # noqa: S105 - a key name, not a secret  # nosec B105
_MONEY = "$money"
_DATE = "$date"
MAX_ATTEMPTS = 10
# A pending job older than this was handed to a queue that lost it (Redis restarted empty, a
# worker killed mid-job): the worker's sweep sends it.
STALE_PENDING = timedelta(minutes=2)
REDIS_RETRY_SECONDS = 5.0  # after Redis failed, send inline this long before trying it again


class MailJob(db.Model):
    """A mail to send: rendered at send time in the recipient's language."""

    __tablename__ = "mail_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a failed job is due again (the worker's sweep retries it then).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def money(minor: int, currency: str) -> dict[str, Any]:
    """An amount for a mail's context, kept as minor units and formatted when the mail is
    rendered, in the recipient's language ("€30.00" in English, "30,00 €" in Russian)."""
    return {_MONEY: [minor, currency]}


def date(value: datetime, fmt: str = "long") -> dict[str, Any]:
    """A date for a mail's context, formatted when the mail is rendered, in the recipient's
    language ("March 3, 2027" in English)."""
    return {_DATE: [value.isoformat(), fmt]}


def host() -> dict[str, str]:
    """Who received the money, for a receipt's context: the host's legal name, address and
    registration number (settings HOST_LEGAL_NAME, HOST_ADDRESS, HOST_REGISTRATION)."""
    config = current_app.config
    return {
        "name": config.get("HOST_LEGAL_NAME") or config.get("SITE_NAME") or "",
        "address": config.get("HOST_ADDRESS") or "",
        "registration": config.get("HOST_REGISTRATION") or "",
    }


def _formatted(value: Any) -> Any:
    """A context value as the template shows it: amounts from money() and dates from date()
    formatted for the job's locale, at any depth."""
    if isinstance(value, dict):
        if set(value) == {_MONEY}:
            minor, currency = value[_MONEY]
            return format_money(minor, currency)
        if set(value) == {_DATE}:
            text, fmt = value[_DATE]
            return format_date(datetime.fromisoformat(text), fmt)
        return {key: _formatted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_formatted(item) for item in value]
    return value


def queue_mail(
    template: str,
    recipient: str,
    context: dict[str, Any] | None = None,
    *,
    locale: str = "en",
    dedupe_key: str | None = None,
    secret: tuple[str, ...] = (),
) -> MailJob | None:
    """Queue a mail in the current transaction; returns None when the dedupe key was used.
    The context keys named in `secret` (a sign-in link, a code) are erased once it is sent."""
    if template not in SUBJECTS:
        raise ValueError(f"unknown mail template {template!r}")
    # The links of a mail point at the site that queued it, whichever process sends it.
    stored = {"base_url": current_app.config["BASE_URL"], **(context or {})}
    if secret:
        stored[_SECRET] = list(secret)
    values = {
        "template": template,
        "recipient": recipient,
        "locale": locale,
        "context": stored,
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }
    # ON CONFLICT DO NOTHING: a second queueing of the same key (a retried webhook, a concurrent
    # transaction) adds nothing and sends nothing.
    job = insert_new(MailJob, "dedupe_key", values)
    if job is None:
        return None
    db.session.info.setdefault(_PENDING, []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    """Once a transaction that queued mail commits, send it (or hand it to the RQ queue).

    This runs wherever the commit happens (a page, the webhook, `flask worker`, any command), so
    no process can forget to hand its mail on. A transaction that rolls back never gets here.
    """
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    if not has_app_context():  # a bare script: the jobs stay pending for `flask mail send-pending`
        log.warning("%d mails committed outside the app; left pending", len(ids))
        return
    try:
        hand_on(list(dict.fromkeys(ids)))
    except Exception:  # the commit succeeded: its caller must not see a mail failure
        log.exception("mail: handing on %d committed mails failed; they stay pending", len(ids))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    """A rolled-back transaction's mails were never queued."""
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def hand_on(ids: list[int]) -> int:
    """Send committed mail jobs here, or give them to the worker's queue when REDIS_URL is set;
    returns how many were sent here."""
    if _enqueue(ids):
        return 0
    # The committing session cannot run SQL inside its after_commit hook: use one of our own.
    # Reading each job back also proves it committed (a rolled-back savepoint left no row).
    with db.session.session_factory() as session:
        sent = 0
        for job_id in ids:
            job = session.get(MailJob, job_id)
            if job is not None and job.status != "sent":
                sent += _attempt(session, job)
        return sent


class _MailQueue:
    """The RQ queue for mail, and whether its Redis failed lately: one log line per outage, and
    no new try for REDIS_RETRY_SECONDS after a failure (pages send inline meanwhile)."""

    def __init__(self, url: str, name: str) -> None:
        from rq import Queue

        from .config import REDIS_TIMEOUT

        self.queue = Queue(name, connection=redis_connection(url, timeout=REDIS_TIMEOUT))
        self.down_since: float | None = None
        self.retry_at = 0.0

    def enqueue(self, ids: list[int]) -> bool:
        """Hand jobs to the worker; False when Redis is (or was just now) unreachable."""
        if time.monotonic() < self.retry_at:
            return False
        try:
            for job_id in ids:
                self.queue.enqueue(deliver_job, job_id, job_id=f"mail-{job_id}", result_ttl=0)
        except Exception as exc:  # Redis unreachable: the mail must still go out
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning(
                    "mail queue unavailable (%s); sending mail inline until it is back", exc
                )
            self.retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            return False
        if self.down_since is not None:
            pause = time.monotonic() - self.down_since
            log.warning("mail queue reachable again after %.0f s", pause)
            self.down_since = None
        return True


def _queue() -> _MailQueue | None:
    """This app's mail queue when REDIS_URL is set, else None."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    queue = current_app.extensions.get("membership.mail_queue")
    if queue is None:
        queue = _MailQueue(url, current_app.config.get("QUEUE_PREFIX", "") + "mail")
        current_app.extensions["membership.mail_queue"] = queue
    return queue


def redis_connection(url: str, timeout: float | None = None):
    """A Redis client that gives up quickly: a page must not hang on an unreachable Redis.

    `timeout` bounds both connecting and every answer (a page's hand-off uses 0.5 s); without it
    connecting may take 2 s and an answer 5 s, room for the worker's 2 s blocking dequeue."""
    from redis import Redis

    return Redis.from_url(
        url,
        socket_connect_timeout=timeout or 2,
        socket_timeout=timeout or 5,
        health_check_interval=30,
    )


def _enqueue(ids: list[int]) -> bool:
    """Hand mail jobs to the worker; False (send inline) when there is no queue or Redis fails."""
    queue = _queue()
    return queue is not None and queue.enqueue(ids)


def deliver_job(job_id: int) -> bool:
    """RQ job run by `flask worker`: send one queued mail unless it went out already."""
    try:
        job = db.session.get(MailJob, job_id)
        if job is None or job.status == "sent":
            return False
        return bool(_attempt(db.session, job))
    finally:
        db.session.remove()


def send_pending(limit: int = 500) -> int:
    """Retry every mail still pending or failed, now (for `flask mail send-pending`)."""
    jobs = db.session.scalars(
        select(MailJob)
        .where(MailJob.status.in_(("pending", "failed")), MailJob.attempts < MAX_ATTEMPTS)
        .order_by(MailJob.id)
        .limit(limit)
    ).all()
    return sum(_attempt(db.session, job) for job in jobs)


def sweep(limit: int = 100) -> int:
    """The worker's periodic pass: send failed jobs whose retry time came and pending jobs that
    no queue delivered (STALE_PENDING); returns how many went out."""
    now = utcnow()
    ids = db.session.scalars(
        select(MailJob.id)
        .where(
            or_(
                and_(MailJob.status == "pending", MailJob.created_at < now - STALE_PENDING),
                and_(MailJob.status == "failed", MailJob.next_attempt_at <= now),
            ),
            MailJob.attempts < MAX_ATTEMPTS,
        )
        .order_by(MailJob.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    sent = 0
    for job_id in ids:
        job = db.session.get(MailJob, job_id)
        if job is not None:
            sent += _attempt(db.session, job)
    return sent


def retry_pause(attempts: int) -> timedelta:
    """How long a job that failed `attempts` times waits: MAIL_RETRY_SECONDS, doubling, at
    most an hour."""
    base = float(current_app.config.get("MAIL_RETRY_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _attempt(session: Session, job: MailJob) -> int:
    """Render and deliver one job, recording the outcome in `session`; never raises for SMTP
    or rendering errors. The row is locked while it is sent, and skipped when another process
    holds it or sent it meanwhile (the queue, the sweep and the command never send twice)."""
    locked = session.scalar(
        select(MailJob)
        .where(MailJob.id == job.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.status == "sent":
        session.rollback()
        return 0
    job = locked
    job.attempts += 1
    try:
        deliver(render(job, session))
    except Exception as exc:  # SMTP and rendering errors alike: keep the job for a retry
        log.warning("mail %s to %s failed: %s", job.id, job.recipient, exc)
        job.status = "failed"
        job.last_error = str(exc)[:2000]
        job.next_attempt_at = utcnow() + retry_pause(job.attempts)
        session.commit()
        return 0
    job.status = "sent"
    job.sent_at = utcnow()
    job.last_error = None
    if _SECRET in job.context:  # only the mail itself carries them from now on
        job.context = _without_secrets(job.context)
    job.next_attempt_at = None
    session.commit()
    return 1


def _without_secrets(context: dict[str, Any]) -> dict[str, Any]:
    """A sent mail's context with its secret values blanked (a new dict: JSON columns see a
    change only on assignment)."""
    secret = set(context.get(_SECRET) or ())
    return {key: "" if key in secret else value for key, value in context.items()}


def render(job: MailJob, session: Session | None = None) -> EmailMessage:
    """Build the message from templates/email/<template>.{txt,html} in the job's language.

    The templates see only the job's context (never the page or user of a request that may be
    running), the site address the mail was queued on, and the name to greet."""
    context = {"base_url": current_app.config["BASE_URL"], **job.context}
    context["name"] = context.get("name") or recipient_name(session or db.session, job)
    with force_locale(job.locale):
        context = _formatted(context)
        msg = EmailMessage()
        msg["Subject"] = str(SUBJECTS[job.template])
        msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
        msg["To"] = job.recipient
        msg["Message-ID"] = make_msgid(domain="membership.local")
        msg.set_content(_render(f"email/{job.template}.txt", context))
        msg.add_alternative(_render(f"email/{job.template}.html", context), subtype="html")
    return msg


def _render(name: str, context: dict[str, Any]) -> str:
    """A mail template rendered with the app's Jinja environment (gettext included) but none
    of the request's context processors."""
    return current_app.jinja_env.get_template(name).render(context)


def recipient_name(session: Session, job: MailJob) -> str:
    """Whom to greet when the mail was queued without a name: the account at the recipient's
    address, else the name a donor gave on the donation a receipt is for; "" when the data has
    none (the mail then says "Hello," to no one in particular)."""
    from membership.accounts.models import User

    name = session.scalar(
        select(User.name).where(User.email == job.recipient, User.deleted_at.is_(None))
    )
    if name:
        return name
    donation_id = job.context.get("donation_id")
    if job.template == "donation_receipt" and isinstance(donation_id, int):
        from membership.fundraisers.models import Donation

        return session.scalar(select(Donation.public_name).where(Donation.id == donation_id)) or ""
    return ""


def deliver(msg: EmailMessage) -> None:
    """Send through SMTP when configured; otherwise log it and write it to the outbox folder."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
        return
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    (outbox / f"{stamp}.eml").write_bytes(bytes(msg))
    log.info("mail to %s: %s (written to %s)", msg["To"], msg["Subject"], outbox)


def init_app(app: Flask) -> None:
    """Nothing to attach per app: mail leaves from the Session's after_commit hook above, in
    every process that commits (web, worker, commands), not from a request hook."""
