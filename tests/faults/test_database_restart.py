"""PostgreSQL restarted or away under the webhook and under a running worker: Stripe sees 200
or 503 (never 500), its retries are accepted, `/healthz` tells the load balancer, the worker
reconnects by itself, and every gift counts exactly once."""

from __future__ import annotations

import pytest

from tests.faults.conftest import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only]


def test_webhooks_across_a_database_restart_are_accepted_or_refused_for_a_retry(
    postgres, smtp_sink, newsroom_on, workers
):
    newsroom = newsroom_on(postgres, smtp_sink)
    events = newsroom.give(4)
    client = newsroom.app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "database": True}
    half = len(events) // 2
    newsroom.deliver(events[:half])

    postgres.restart()  # every pooled connection is now dead
    first = newsroom.post(events[half], client)
    assert first.status_code == 200, first.get_data(as_text=True)  # pre-ping: a fresh one
    assert client.get("/healthz").status_code == 200

    postgres.stop()
    refused = newsroom.post(events[half + 1], client)
    assert refused.status_code == 503  # Stripe retries a 5xx; nothing was stored
    assert refused.get_json()["error"]["status"] == 503
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()["database"]) == (503, False)
    page = client.get("/")
    assert page.status_code == 503 and "briefly unavailable" in page.get_data(as_text=True)

    postgres.start()
    assert client.get("/healthz").status_code == 200
    newsroom.deliver(events[half + 1 :])  # Stripe's retry of the refused one, then the rest
    workers.start()
    wait_for(newsroom.counted, 30, "the worker to count every gift")
    assert newsroom.raised() == newsroom.expected
    wait_for(lambda: newsroom.unprocessed() == 0, 30, "the worker to run every event")


def test_a_worker_reconnects_after_a_database_crash_and_processes_the_rest(
    postgres, smtp_sink, newsroom_on, workers
):
    newsroom = newsroom_on(postgres, smtp_sink)
    before = newsroom.give(6)
    worker = workers.start()
    newsroom.deliver(before)
    postgres.stop("immediate")  # a crash, probably mid-event: its transaction never commits
    postgres.start()
    after = newsroom.give(6, first=6)
    newsroom.deliver(after)
    wait_for(newsroom.counted, 30, "the worker to count every gift")
    assert newsroom.raised() == newsroom.expected
    # The event the crash interrupted (a gift's fee, say) runs again on its retry (10 s later).
    wait_for(lambda: newsroom.unprocessed() == 0, 90, "the worker to run every event")
    assert newsroom.raised() == newsroom.expected
    assert worker.poll() is None  # still running, never restarted by hand
    log = workers.output()
    assert log.count("database unreachable") <= 1, log  # one line per outage, no storm
    assert "Traceback" not in log, log
