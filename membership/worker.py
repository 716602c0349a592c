"""`flask worker`: runs the stored Stripe events, sends payment-recovery mails when they are
due, and keeps the mail moving.

Four loops in one process, each surviving the loss of what it talks to:

- the main thread runs due Stripe events (the `stripe_events` table is the queue, so this needs
  no Redis). Idle, it waits for PostgreSQL's NOTIFY on `membership_events` (a trigger sends one
  when a webhook stores an event, migration a1f7c3e9b5d2) and looks anyway every
  WORKER_POLL_SECONDS (5 s); on SQLite, which has no NOTIFY, it polls every 0.2 s.
- a thread sweeps due mail: failed jobs whose retry time came, pending ones no queue delivered.
- a thread sends the payment-recovery notices that came due (billing/dunning.py) every
  NOTICE_SECONDS; any number of workers (or `flask dunning send-due` from cron) share them.
- with REDIS_URL, a thread drains the RQ mail queue and reconnects when Redis returns.

When the database or Redis goes away a loop logs one line, backs off (doubling, up to 30 s),
reconnects and carries on, and logs one line when it is back. An event's work and its status
commit together, so a worker killed at any point (SIGKILL included) leaves the event due for the
next one, and a restarted database loses nothing that was committed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from flask import Flask
from sqlalchemy import exc as sa_exc

from membership import mail
from membership.extensions import db

log = logging.getLogger(__name__)

CHANNEL = "membership_events"
LONGEST_PAUSE = 30.0  # seconds: the back-off's ceiling while something is unreachable
NOTICE_SECONDS = 60.0  # how often the payment-recovery notices are looked at


class Outage:
    """Back-off for one dependency, with one log line when it goes and one when it is back."""

    def __init__(self, what: str, first: float = 0.5) -> None:
        self.what = what
        self.first = first
        self.since: float | None = None
        self.pause = first

    def failed(self, error: BaseException) -> float:
        """Record a failure; returns how long to wait before the next try."""
        if self.since is None:
            self.since = time.monotonic()
            self.pause = self.first
            if disconnected(error):
                log.warning(
                    "%s unreachable (%s); retrying with back-off up to %g s",
                    self.what, _first_line(error), LONGEST_PAUSE,
                )  # fmt: skip
            else:
                log.exception("%s: the worker's step failed; retrying with back-off", self.what)
        else:
            self.pause = min(self.pause * 2, LONGEST_PAUSE)
        return self.pause

    def ok(self) -> None:
        """Record a success (logs the end of an outage)."""
        if self.since is not None:
            log.warning("%s reachable again after %.1f s", self.what, time.monotonic() - self.since)
            self.since = None


def disconnected(error: BaseException) -> bool:
    """Whether an error means the server went away (rather than a bug in our code)."""
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, sa_exc.OperationalError)
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"OperationalError", "ConnectionError", "TimeoutError", "OSError"})


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _discard_session() -> None:
    """Forget the session after a failure (its connection may be dead: never raise here)."""
    with contextlib.suppress(Exception):  # the connection is gone; remove() below drops it
        db.session.rollback()
    db.session.remove()


class Wakeups:
    """How an idle event loop waits: LISTEN on PostgreSQL, a plain sleep elsewhere."""

    def __init__(self, app: Flask) -> None:
        self.engine = db.engine
        self.listens = self.engine.dialect.name == "postgresql"
        configured = app.config.get("WORKER_POLL_SECONDS")
        self.poll = float(configured or (5.0 if self.listens else 0.2))
        self.connection = None  # psycopg connection in autocommit, LISTENing

    def listen(self) -> None:
        """(Re)open the listening connection; before the step that looks for work, so that no
        notification sent after that look is missed."""
        if not self.listens or self.connection is not None:
            return
        pooled = self.engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()  # ours alone, and closed with us: not returned to the pool
        driver.autocommit = True
        driver.execute(f"LISTEN {CHANNEL}")
        self.connection = driver

    def wait(self, stop: threading.Event, longest: float | None = None) -> None:
        """Until a notification arrives, `stop` is set, or the poll interval (or `longest`)."""
        timeout = self.poll if longest is None else max(0.05, min(self.poll, longest))
        if self.connection is None:
            stop.wait(timeout)
            return
        try:
            for _notify in self.connection.notifies(timeout=timeout, stop_after=1):
                pass
            pgconn = self.connection.pgconn
            pgconn.consume_input()
            while pgconn.notifies() is not None:  # one step serves every waiting notification
                pass
        except Exception as error:  # the database went away: the next step's error reports it
            log.debug("worker: the listening connection failed: %s", error)
            self.close()

    def close(self) -> None:
        """Drop the listening connection (reopened by the next `listen`)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing a dead connection
                connection.close()


def event_loop(app: Flask, stop: threading.Event) -> None:
    """Run due Stripe events until `stop`; wait for a NOTIFY (or the poll) when none is due."""
    from membership.billing import events

    with app.app_context():
        wakeups = Wakeups(app)
        outage = Outage("database")
        while not stop.is_set():
            try:
                wakeups.listen()
                done = events.run_due(limit=100)
                retry_in = None if done else events.next_retry_in()
                outage.ok()
            except Exception as error:
                _discard_session()
                wakeups.close()
                stop.wait(outage.failed(error))
                continue
            finally:
                db.session.remove()
            if not done:
                wakeups.wait(stop, retry_in)
        wakeups.close()


def _every(app: Flask, stop: threading.Event, seconds: float, what: str, job) -> None:
    """Run `job` every `seconds` until `stop`; a database outage is logged once, backed off
    and recovered from, as in every loop of the worker."""
    with app.app_context():
        outage = Outage(what)
        while not stop.wait(seconds):
            try:
                job()
                outage.ok()
            except Exception as error:
                _discard_session()
                stop.wait(outage.failed(error))
            finally:
                db.session.remove()


def mail_sweeper(app: Flask, stop: threading.Event) -> None:
    """Every few seconds, send the mail that is due (mail.sweep) until `stop`."""
    every = min(30.0, float(app.config.get("MAIL_RETRY_SECONDS", 30)))
    _every(app, stop, every, "database (mail sweep)", mail.sweep)


def notice_sender(app: Flask, stop: threading.Event) -> None:
    """Every NOTICE_SECONDS, send the payment-recovery notices that are due until `stop`."""
    from membership.billing import dunning

    _every(app, stop, NOTICE_SECONDS, "database (payment recovery)", dunning.send_due)


def rq_mail(app: Flask, url: str, stop: threading.Event, burst: bool = False) -> None:
    """Drain the RQ mail queue (each job names a `mail_jobs` row to send); when Redis goes
    away, back off and reconnect. `burst`: until the queue is empty.

    A small loop of our own rather than RQ's Worker: that one retries a lost Redis inside its
    dequeue, logging at every retry, and cannot run beside the main thread's signals. A job
    popped here and lost (a crash before it ran) costs nothing: its row is still pending and
    the sweep sends it. The row's lock and status make a second delivery send nothing."""
    from rq import Queue
    from rq.exceptions import DequeueTimeout

    connection = mail.redis_connection(url)
    queue = Queue(app.config.get("QUEUE_PREFIX", "") + "mail", connection=connection)
    with app.app_context():
        outage = Outage("Redis (mail queue)")
        while not stop.is_set():
            try:
                found = Queue.dequeue_any([queue], None if burst else 2, connection=connection)
                outage.ok()
            except DequeueTimeout:
                outage.ok()
                continue
            except Exception as error:
                if burst:
                    log.warning("mail queue unreachable (%s); its mail stays pending", error)
                    return
                stop.wait(outage.failed(error))
                continue
            if found is None:  # burst, and nothing left
                return
            job, _queue = found
            try:
                job.func(*job.args, **job.kwargs)
            except Exception:  # a bad job must not stop the loop; its row keeps the mail
                log.exception("mail queue: job %s failed", job.id)
                _discard_session()
            try:
                job.delete()
            except Exception as error:  # Redis went away just now: the next dequeue says so
                log.debug("mail queue: could not delete job %s: %s", job.id, error)


def run(app: Flask) -> None:
    """The long-running worker: events here, mail in threads beside them."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=mail_sweeper, args=(app, stop), daemon=True),
        threading.Thread(target=notice_sender, args=(app, stop), daemon=True),
    ]
    url = app.config.get("REDIS_URL")
    if url:
        threads.append(threading.Thread(target=rq_mail, args=(app, url, stop), daemon=True))
    for thread in threads:
        thread.start()
    try:
        event_loop(app, stop)
    finally:
        stop.set()
