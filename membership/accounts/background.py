"""Work that must not make an answer slower in one case than another: run on a thread of its own.

Registration, reset and change of address would otherwise tell by their time whether an address
has an account (the look-up, the mail going out over SMTP). The view commits what the answer
needs and hands the rest here; it runs on one thread per process, in an application context of
its own, then commits and sends the mail it queued. A process that dies first loses that work
only, which the reader can ask for again (a new link, another reset).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

from flask import Flask, current_app

from membership.extensions import db

log = logging.getLogger(__name__)
_KEY = "membership.background"


class Background:
    """One app's worker thread, created on first use (so after a server forks)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        self.pending: set[Future] = set()

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        """Run `work(*args)` on the worker thread, then commit and send its mail."""
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(1, thread_name_prefix="membership-background")
            future = self.executor.submit(self._run, work, args)
            self.pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self.lock:
            self.pending.discard(future)

    def _run(self, work: Callable[..., None], args: tuple) -> None:
        with self.app.app_context():
            try:
                work(*args)
                db.session.commit()  # the commit sends the mail the work queued
            except Exception:  # nobody waits for this: all that is left to do is to say so
                db.session.rollback()
                log.exception("background work %s failed", work.__name__)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the work submitted so far is done (tests, shutdown)."""
        with self.lock:
            pending = list(self.pending)
        wait_for(pending, timeout=timeout)


def background(app: Flask | None = None) -> Background:
    """The app's background worker."""
    app = app or current_app._get_current_object()
    runner = app.extensions.get(_KEY)
    if runner is None:
        runner = app.extensions.setdefault(_KEY, Background(app))
    return runner


def later(work: Callable[..., None], *args: Any) -> None:
    """Run `work(*args)` off the request, after what the request committed."""
    background().submit(work, *args)
