"""Redis or SMTP away: the worker keeps counting gifts without Redis, and every receipt goes
out exactly once when it can."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import select

from membership import mail
from membership.extensions import db
from tests.faults.conftest import RECEIPT, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only]


def _receipts_once_each(smtp_sink, count: int) -> bool:
    sent = Counter(smtp_sink.received(RECEIPT))
    assert all(n == 1 for n in sent.values()), sent  # never twice
    return len(sent) == count


def test_with_redis_down_gifts_still_count_and_receipts_go_out_once_when_it_is_back(
    postgres, redis_server, smtp_sink, newsroom_on, workers
):
    # This web server cannot reach SMTP itself: its mail leaves only through the worker.
    newsroom = newsroom_on(postgres, smtp_sink, REDIS_URL=redis_server.url, MAIL_PORT=1)
    workers.start(REDIS_URL=redis_server.url)
    newsroom.deliver(newsroom.give(2))  # receipts through the queue while Redis is up
    wait_for(lambda: _receipts_once_each(smtp_sink, 2), 20, "the first receipts")

    redis_server.stop()
    newsroom.deliver(newsroom.give(5, first=2))
    wait_for(newsroom.counted, 20, "the worker to count the gifts without Redis")
    assert newsroom.raised() == newsroom.expected
    wait_for(lambda: _receipts_once_each(smtp_sink, 7), 20, "the receipts, sent without Redis")
    time.sleep(1)  # the mail loop notices the outage (and backs off)

    redis_server.start()  # empty: whatever it held is gone
    wait_for(lambda: "Redis (mail queue) reachable again" in workers.output(), 30,
             "the mail loop back on Redis")  # fmt: skip
    newsroom.deliver(newsroom.give(5, first=7))
    with newsroom.app.app_context():  # the web server's own mail goes through Redis again
        mail.queue_mail("password_changed", "reader@example.org", {"name": "Ani"})
        db.session.commit()
        db.session.remove()
    wait_for(newsroom.counted, 20, "the worker to count the later gifts")
    wait_for(lambda: _receipts_once_each(smtp_sink, 12), 20, "the later receipts")
    wait_for(lambda: smtp_sink.box.to("reader@example.org"), 20, "the web server's mail")
    assert newsroom.mail_statuses() == {"sent": 13}
    with newsroom.app.app_context():  # one attempt, by the worker: the web never tried SMTP
        assert db.session.scalar(select(mail.MailJob.attempts).where(
            mail.MailJob.recipient == "reader@example.org")) == 1  # fmt: skip
    log = workers.output()
    for line in ("Redis (mail queue) unreachable", "mail queue unavailable"):
        assert log.count(line) == 1, log  # one line per outage, no storm
    assert "Traceback" not in log, log


def test_with_smtp_down_receipts_wait_and_go_out_exactly_once_when_it_is_back(
    postgres, smtp_sink, newsroom_on, workers
):
    newsroom = newsroom_on(postgres, smtp_sink)
    smtp_sink.stop()
    workers.start()
    newsroom.deliver(newsroom.give(3))
    wait_for(newsroom.counted, 20, "the worker to count the gifts")
    wait_for(lambda: newsroom.mail_statuses() == {"failed": 3}, 20, "three failed receipts")

    smtp_sink.start()
    wait_for(lambda: _receipts_once_each(smtp_sink, 3), 20, "the receipts once SMTP is back")
    assert newsroom.mail_statuses() == {"sent": 3}
    time.sleep(1.5)  # a few more sweeps: nothing goes out again
    assert _receipts_once_each(smtp_sink, 3)
