"""Queued webhook processing (WEBHOOK_PROCESSING=queued): Stripe gets its 200 once the event is
stored; `flask worker` runs it, retries failures with back-off, and nothing counts twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from membership.billing import events
from membership.billing.models import StripeEvent
from membership.config import ConfigError, from_environment
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import utcnow
from tests.billing.conftest import join, membership_of
from tests.billing.test_webhooks import ledger_total, stored

pytestmark = pytest.mark.config(WEBHOOK_PROCESSING="queued")


def work(app) -> dict[str, int]:
    """One pass of the worker: run every due event."""
    with app.app_context():
        try:
            return events.run_due()
        finally:
            db.session.remove()


def _raise(event):
    raise RuntimeError("database hiccup")


def flaky(monkeypatch, event_type="invoice.paid"):
    """Make one event type's first handler fail (and leave half-written work behind)."""
    original = events.handlers_for

    def handlers(kind):
        if kind != event_type:
            return original(kind)

        def boom(event):
            row = LedgerEntry(kind="gift", amount=1, currency="eur",
                              stripe_object_id="half-written", occurred_at=utcnow())  # fmt: skip
            db.session.add(row)
            db.session.flush()
            _raise(event)

        return [boom, *original(kind)]

    monkeypatch.setattr(events, "handlers_for", handlers)
    return lambda: monkeypatch.setattr(events, "handlers_for", original)


def test_stripe_gets_its_answer_at_once_and_the_worker_grants_the_perks(
    app, reader, auth, stripe_world, runner
):
    stripe_world.pay(join(auth))
    responses = stripe_world.deliver()
    assert {r.get_json()["status"] for r in responses} == {"queued", "ignored"}
    assert membership_of(app, reader) is None  # nothing ran yet: only stored
    queued = sum(r.get_json()["status"] == "queued" for r in responses)

    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert f"Stripe events: {queued} processed." in result.output
    assert membership_of(app, reader).status == "active"
    assert ledger_total(app) == 500
    assert {status for _type, status, _n in stored(app).values()} == {"processed", "ignored"}
    assert "Members-only" in auth.client.get("/account").get_data(as_text=True)


def test_duplicates_before_and_after_the_worker_count_once(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    batch = stripe_world.new_events()
    stripe_world.deliver(batch)
    again = stripe_world.deliver(batch)  # Stripe retries while the events still wait
    assert "queued" in {r.get_json()["status"] for r in again}
    work(app)
    assert ledger_total(app) == 500
    later = stripe_world.deliver(batch)
    assert {r.get_json()["status"] for r in later} == {"duplicate"}
    assert work(app) == {}
    assert ledger_total(app) == 500
    assert all(attempts <= 1 for _type, _status, attempts in stored(app).values())


def test_a_failing_handler_is_kept_with_its_error_and_retried_after_a_pause(
    app, reader, auth, stripe_world, monkeypatch
):
    stripe_world.pay(join(auth))
    restore = flaky(monkeypatch)
    responses = stripe_world.deliver()
    assert all(r.status_code == 200 for r in responses)  # stored: Stripe need not retry
    assert work(app)["failed"] == 1
    paid = next(e for e in stripe_world.sandbox.events() if e["type"] == "invoice.paid")
    assert stored(app)[paid["id"]][1:] == ("failed", 1)
    with app.app_context():
        failed = db.session.get(StripeEvent, paid["id"])
        assert "database hiccup" in failed.error
        assert failed.next_attempt_at > utcnow() + timedelta(seconds=5)  # back-off
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0  # rolled back
    restore()
    assert work(app) == {}  # not due yet
    with app.app_context():  # ten seconds later
        db.session.execute(update(StripeEvent).values(next_attempt_at=utcnow()))
        db.session.commit()
    assert work(app) == {"processed": 1}
    assert stored(app)[paid["id"]][1:] == ("processed", 2)
    assert ledger_total(app) == 500
    assert membership_of(app, reader).status == "active"


def test_retries_stop_after_the_last_interval_and_staff_can_run_it(
    app, reader, auth, stripe_world, monkeypatch, runner
):
    stripe_world.pay(join(auth))
    restore = flaky(monkeypatch)
    stripe_world.deliver()
    paid = next(e for e in stripe_world.sandbox.events() if e["type"] == "invoice.paid")
    for _ in range(len(events.RETRY_INTERVALS) + 1):
        with app.app_context():
            db.session.execute(
                update(StripeEvent)
                .where(StripeEvent.next_attempt_at.is_not(None))
                .values(next_attempt_at=utcnow())
            )
            db.session.commit()
        work(app)
    with app.app_context():
        failed = db.session.get(StripeEvent, paid["id"])
        assert (failed.status, failed.attempts) == ("failed", len(events.RETRY_INTERVALS) + 1)
        assert failed.next_attempt_at is None  # out of retries: it waits for staff
    restore()
    assert work(app) == {}
    result = runner.invoke(args=["stripe", "process-pending", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "Processed 1 waiting events: 1 processed." in result.output
    assert ledger_total(app) == 500


def test_stripe_redelivering_a_failed_event_makes_it_due_at_once(
    app, reader, auth, stripe_world, monkeypatch
):
    stripe_world.pay(join(auth))
    batch = stripe_world.new_events()
    paid = next(e for e in batch if e["type"] == "invoice.paid")
    restore = flaky(monkeypatch)
    stripe_world.deliver(batch)
    work(app)
    assert stored(app)[paid["id"]][1] == "failed"
    restore()
    response = stripe_world.post(paid)  # Stripe's own retry of the same event
    assert response.get_json()["status"] == "queued"
    assert work(app) == {"processed": 1}
    assert ledger_total(app) == 500


@pytest.mark.postgres_only
def test_two_workers_never_run_the_same_event(app, is_postgres, auth, stripe_world, catalogue):
    if not is_postgres:
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    from tests.factories import make_user

    for i in range(6):
        with app.app_context():
            make_user(email=f"r{i}@example.org")
        auth.login(email=f"r{i}@example.org")
        stripe_world.pay(join(auth))
        auth.logout()
    stripe_world.deliver()
    calls: list[str] = []
    original = events.handlers_for

    def counted(kind):
        return [lambda event: calls.append(event["id"]), *original(kind)] if original(kind) else []

    events.handlers_for = counted
    try:
        threads = [threading.Thread(target=work, args=(app,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        events.handlers_for = original
    assert len(calls) == len(set(calls))  # each event ran once, in one worker
    assert ledger_total(app) == 6 * 500
    assert all(status in ("processed", "ignored") for _t, status, _n in stored(app).values())


def test_a_bad_processing_setting_stops_the_app():
    with pytest.raises(ConfigError, match="must be inline or queued"):
        from_environment({"SECRET_KEY": "x" * 32, "WEBHOOK_PROCESSING": "later"})
