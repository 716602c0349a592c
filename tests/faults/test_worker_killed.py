"""Two app instances receive the same gifts' events shuffled and duplicated while two workers
run them and one worker is killed with SIGKILL mid-run: the totals end exact, nothing twice."""

from __future__ import annotations

import random
import signal
import threading

import pytest
from sqlalchemy import func, select

from membership.extensions import db
from membership.ledger.models import LedgerEntry
from tests.faults.conftest import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only]

GIFTS = 40


def test_a_worker_killed_mid_run_leaves_the_totals_exact(postgres, smtp_sink, newsroom_on, workers):
    newsroom = newsroom_on(postgres, smtp_sink)
    other_instance = newsroom.another_instance()  # a second web server, same database
    events = newsroom.give(GIFTS)
    rng = random.Random(1203)
    batch = events * 2 + rng.sample(events, len(events) // 2)  # all twice, half three times
    rng.shuffle(batch)

    doomed = workers.start()
    workers.start()
    for index in (0, 1):
        wait_for(lambda i=index: "Running Stripe events" in workers.output(i), 30,
                 f"worker {index} to start")  # fmt: skip
    failures: list[str] = []

    def deliver(app, chunk):
        client = app.test_client()
        for event in chunk:
            status = newsroom.post(event, client).status_code
            if status != 200:
                failures.append(f"{event['type']}: {status}")

    senders = [
        threading.Thread(target=deliver, args=(app, batch[i::2]))
        for i, app in enumerate((newsroom.app, other_instance))
    ]
    for sender in senders:
        sender.start()
    wait_for(lambda: newsroom.ledger() > 0, 30, "the workers to start counting")
    assert newsroom.ledger() < newsroom.expected  # the kill lands mid-run
    doomed.send_signal(signal.SIGKILL)  # mid-run: perhaps inside an event's transaction
    doomed.wait(10)
    for sender in senders:
        sender.join(60)
    assert not failures, failures[:5]

    wait_for(lambda: newsroom.unprocessed() == 0, 30, "the surviving worker to run every event")
    assert newsroom.ledger() == newsroom.expected
    assert newsroom.raised() == newsroom.expected
    with newsroom.app.app_context():
        rows = db.session.execute(
            select(func.count(), func.count(func.distinct(LedgerEntry.donation_id))).where(
                LedgerEntry.campaign_id == newsroom.campaign_id
            )
        ).one()
    assert tuple(rows) == (GIFTS, GIFTS)  # one ledger row per gift, none twice
