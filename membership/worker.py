"""`flask worker`: runs the stored Stripe events, and keeps the mail moving.

Three loops in one process, each surviving the loss of what it talks to:

- the main thread runs due Stripe events (the `stripe_events` table is the queue, so this needs
  no Redis). Idle, it waits for PostgreSQL's NOTIFY on `membership_events` (a trigger sends one
  when a webhook stores an event, migration a1f7c3e9b5d2) and looks anyway every
  WORKER_POLL_SECONDS (5 s); on SQLite, which has no NOTIFY, it polls every 0.2 s.
- a thread sweeps due mail: failed jobs whose retry time came, pending ones no queue delivered.
- with REDIS_URL, a thread drains the RQ mail queue and reconnects when Redis returns.

When the database or Redis goes away a loop logs one line, backs off (doubling, up to 30 s),
reconnects and carries on, and logs one line when it is back. An event's work and its status
commit together, so a worker killed at any point (SIGKILL included) leaves the event due for the
next one, and a restarted database loses nothing that was committed.
"""

from __future__ import annotations

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
    try:
        db.session.rollback()
    except Exception:  # noqa: S110 - the connection is gone; remove() below drops it
        pass
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
        pooled.detach()  # ours alone, and closed with us: not returned to the pool
        driver = pooled.driver_connection
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
            try:
                connection.close()
            except Exception:  # noqa: S110 - closing a dead connection
                pass


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


def mail_sweeper(app: Flask, stop: threading.Event) -> None:
    """Every few seconds, send the mail that is due (mail.sweep) until `stop`."""
    every = min(30.0, float(app.config.get("MAIL_RETRY_SECONDS", 30)))
    with app.app_context():
        outage = Outage("database (mail sweep)")
        while not stop.wait(every):
            try:
                mail.sweep()
                outage.ok()
            except Exception as error:
                _discard_session()
                stop.wait(outage.failed(error))
            finally:
                db.session.remove()


def _rq_worker_class():
    """RQ's in-process worker, able to run outside the main thread (no signal handlers, job
    time limits by timer instead of SIGALRM)."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    class MailWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self) -> None:
            """The main thread's signals belong to the event loop."""

    return MailWorker


class _QuietRedisErrors(logging.Filter):
    """RQ logs a traceback each time its connection fails; our Outage says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not disconnected(error)


def rq_mail(app: Flask, url: str, stop: threading.Event, burst: bool = False) -> None:
    """Drain the RQ mail queue; when Redis goes away, back off and reconnect."""
    logging.getLogger("rq.worker").addFilter(_QuietRedisErrors())
    name = app.config.get("QUEUE_PREFIX", "") + "mail"
    worker_class = _rq_worker_class()
    with app.app_context():
        outage = Outage("Redis (mail queue)")
        while not stop.is_set():
            connection = mail.redis_connection(url)
            try:
                connection.ping()
                outage.ok()
                worker = worker_class([name], connection=connection, worker_ttl=60)
                worker.work(burst=burst, logging_level="WARNING")
                if burst:
                    return
                connection.ping()  # RQ's loop ends when its connection fails: did it?
                stop.wait(1.0)  # it ended for another reason: start a fresh one, unhurried
            except Exception as error:
                if burst:
                    log.warning("mail queue unreachable (%s); mail stays pending", error)
                    return
                stop.wait(outage.failed(error))
            finally:
                connection.close()


def run(app: Flask) -> None:
    """The long-running worker: events here, mail in threads beside them."""
    stop = threading.Event()
    threads = [threading.Thread(target=mail_sweeper, args=(app, stop), daemon=True)]
    url = app.config.get("REDIS_URL")
    if url:
        threads.append(threading.Thread(target=rq_mail, args=(app, url, stop), daemon=True))
    for thread in threads:
        thread.start()
    try:
        event_loop(app, stop)
    finally:
        stop.set()
