"""An idle worker on PostgreSQL waits for NOTIFY instead of polling: it runs a stored event at
once although its fallback poll is 5 s, and costs the database next to nothing meanwhile."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from tests.faults.conftest import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only]


def _transactions(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            ))  # fmt: skip
    finally:
        engine.dispose()


def test_an_idle_worker_is_woken_by_the_webhook_and_does_not_poll(
    postgres, smtp_sink, newsroom_on, workers
):
    newsroom = newsroom_on(postgres, smtp_sink)
    events = newsroom.give(1)
    workers.start(MAIL_RETRY_SECONDS="30")  # the default fallback poll: every 5 s
    wait_for(lambda: "Running Stripe events" in workers.output(), 30, "the worker to start")
    time.sleep(1)  # past its first look for work
    before = _transactions(postgres.url)
    time.sleep(2)
    idle = _transactions(postgres.url) - before
    assert idle < 5, idle  # polling five times a second would be 10 or more

    started = time.monotonic()
    newsroom.deliver(events)
    wait_for(newsroom.counted, 10, "the gift to count")
    assert time.monotonic() - started < 2.5  # woken by the NOTIFY, not by the 5 s poll
    wait_for(lambda: newsroom.unprocessed() == 0, 5, "every event to be run")
