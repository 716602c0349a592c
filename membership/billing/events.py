"""Stripe events: stored once under their id, then dispatched to every registered handler.

Handlers register with @on("type", …). Two ways to run them (WEBHOOK_PROCESSING):

- inline (the default without Redis): in the webhook's own transaction. A failing handler rolls
  back all the work, the event is kept as failed with its error, and the webhook answers 500 so
  that Stripe retries.
- queued (WEBHOOK_PROCESSING=queued, with `flask worker` running): the webhook stores the event
  as received, commits and answers 200 at once, as Stripe advises. The stored events are the
  queue: the worker claims the oldest due one (FOR UPDATE SKIP LOCKED, so several workers never
  take the same event), runs its handlers from the stored payload and commits. A failing handler
  rolls back the same way, the event is kept as failed with its error and a next attempt time,
  and the worker retries it with back-off. Nothing is written twice to two stores, so no event
  is lost between them.

Either way a handler runs at most once to success per event (the row is locked FOR UPDATE and its
status checked), so duplicates, retries and replays change nothing twice."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from membership.billing.models import StripeEvent
from membership.database import insert_ignoring_duplicates
from membership.edge import json_problem
from membership.extensions import db
from membership.timeutil import from_unix, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
# The worker's retries of a failed event, in seconds after each failure; after the last one
# the event waits for staff (the retry button, `flask stripe process-pending` or `replay`).
RETRY_INTERVALS = (10, 60, 300, 1800, 7200)
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def on(*event_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more event types."""

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            if handler not in _HANDLERS[event_type]:
                _HANDLERS[event_type].append(handler)
        return handler

    return register


def handlers_for(event_type: str) -> list[Handler]:
    """The handlers registered for a type, in registration order."""
    return list(_HANDLERS.get(event_type, ()))


@dataclass(frozen=True)
class Outcome:
    """What happened to a delivery, and the HTTP status Stripe should see."""

    status: str  # processed, duplicate, ignored, failed, queued
    http_status: int


def processing_mode() -> str:
    """Queued or inline (WEBHOOK_PROCESSING; inline unless set)."""
    return "queued" if current_app.config.get("WEBHOOK_PROCESSING") == "queued" else "inline"


def _row(event: dict[str, Any], status: str) -> dict[str, Any]:
    """The stripe_events row for an event, in a given status."""
    obj = data_object(event)
    now = utcnow()
    return {
        "id": event["id"],
        "type": str(event.get("type") or "unknown")[:100],
        "object_id": obj.get("id") if isinstance(obj, dict) else None,
        "created": from_unix(event.get("created")) or now,
        "livemode": bool(event.get("livemode")),
        "api_version": event.get("api_version"),
        "payload": event,
        "status": status,
        "attempts": 0 if status == "ignored" else 1,
        "received_at": now,
        "processed_at": now if status in ("processed", "ignored") else None,
    }


def store(event: dict[str, Any]) -> StripeEvent:
    """Insert the event as received unless it exists; return its row, locked."""
    insert_ignoring_duplicates(StripeEvent, "id", _row(event, "received") | {"attempts": 0})
    return _locked(event["id"])


def _locked(event_id: str) -> StripeEvent:
    """The event's row, locked FOR UPDATE: concurrent deliveries of one event serialise here."""
    return db.session.scalar(
        select(StripeEvent).where(StripeEvent.id == event_id).with_for_update()
    )


def live_mode() -> bool:
    """Whether this app runs on live keys (events of the other mode are ignored)."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_live_", "rk_live_"))


def receive(event: dict[str, Any]) -> Outcome:
    """Store a verified event once and process it unless that was done before.

    The common case costs one INSERT: a new event is inserted already marked processed, in the
    same transaction as its handlers' work, so both commit or neither does. A concurrent
    delivery of the same event waits on the primary key and then finds it done.
    """
    event_type = str(event.get("type") or "")
    if bool(event.get("livemode")) != live_mode() or not handlers_for(event_type):
        new = insert_ignoring_duplicates(StripeEvent, "id", _row(event, "ignored"))
        return Outcome("ignored" if new else "duplicate", 200)
    if processing_mode() == "queued":
        return _store_for_worker(event)
    # Retries and duplicates are the common repeat: answer them with one read, no write.
    seen = db.session.scalar(select(StripeEvent.status).where(StripeEvent.id == event["id"]))
    if seen in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    if insert_ignoring_duplicates(StripeEvent, "id", _row(event, "processed")):
        return _run(event, stored=None)
    stored = _locked(event["id"])
    if stored.status in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    return _run(event, stored)  # failed (or received) before: Stripe's retry runs it again


def _store_for_worker(event: dict[str, Any]) -> Outcome:
    """Queued mode: insert the event as received; the worker runs it once this commits."""
    if insert_ignoring_duplicates(StripeEvent, "id", _row(event, "received") | {"attempts": 0}):
        return Outcome("queued", 200)
    seen = db.session.scalar(select(StripeEvent.status).where(StripeEvent.id == event["id"]))
    if seen in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    # Stripe redelivers an event still waiting, or failed: due again now.
    db.session.execute(
        update(StripeEvent)
        .where(StripeEvent.id == event["id"], StripeEvent.status == "failed")
        .values(next_attempt_at=utcnow())
    )
    return Outcome("queued", 200)


def _due(now: datetime):
    """Events the worker should run now: received, or failed with a retry time passed."""
    return or_(
        StripeEvent.status == "received",
        and_(StripeEvent.status == "failed", StripeEvent.next_attempt_at <= now),
    )


def claim_next() -> StripeEvent | None:
    """The oldest due event, locked for this transaction; events other workers hold are
    skipped (SKIP LOCKED on PostgreSQL; SQLite has one writer at a time anyway)."""
    return db.session.scalar(
        select(StripeEvent)
        .where(_due(utcnow()))
        .order_by(StripeEvent.received_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def next_retry_in() -> float | None:
    """Seconds until the earliest failed event is due again (None when none waits), so that an
    idle worker wakes for it."""
    due = db.session.scalar(
        select(func.min(StripeEvent.next_attempt_at)).where(StripeEvent.status == "failed")
    )
    db.session.rollback()
    return None if due is None else max(0.0, (due - utcnow()).total_seconds())


def run_due(limit: int | None = None) -> dict[str, int]:
    """The worker's step: run due events one per transaction until none is due (or `limit`);
    returns how many ended in each status."""
    counts: dict[str, int] = {}
    while limit is None or sum(counts.values()) < limit:
        stored = claim_next()
        if stored is None:
            db.session.rollback()
            break
        outcome = process(stored)
        db.session.commit()
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


def process_now(event_id: str) -> Outcome:
    """Run one stored event's handlers in a transaction of its own and commit (a no-op when it
    was processed already)."""
    stored = _locked(event_id)
    if stored is None or stored.status in ("processed", "ignored"):
        db.session.rollback()
        return Outcome("duplicate", 200)
    outcome = process(stored)
    db.session.commit()
    return outcome


def waiting(older_than: timedelta = timedelta(minutes=1), limit: int = 1000) -> list[str]:
    """Ids of stored events not processed yet: received longer ago than `older_than` (no worker
    took them), or failed; oldest first (for `flask stripe process-pending`)."""
    cutoff = utcnow() - older_than
    return list(
        db.session.scalars(
            select(StripeEvent.id)
            .where(
                or_(
                    and_(StripeEvent.status == "received", StripeEvent.received_at < cutoff),
                    StripeEvent.status == "failed",
                )
            )
            .order_by(StripeEvent.received_at)
            .limit(limit)
        )
    )


def process(stored: StripeEvent) -> Outcome:
    """Run a stored event's handlers again (replay, or the staff area's retry button)."""
    problem = malformed(stored.payload) if isinstance(stored.payload, dict) else "not an object"
    if problem is not None:  # stored before the webhook checked shapes: retrying cannot help
        stored.error = f"malformed event: {problem}"
    if (
        problem is not None
        or not handlers_for(stored.type)
        or bool(stored.payload.get("livemode")) != live_mode()
    ):
        stored.status = "ignored"
        stored.processed_at = utcnow()
        stored.next_attempt_at = None
        return Outcome("ignored", 200)
    return _run(stored.payload, stored)


def _run(event: dict[str, Any], stored: StripeEvent | None) -> Outcome:
    """Run every handler; on failure roll all back and keep the event as failed with its error."""
    try:
        for handler in handlers_for(str(event.get("type"))):
            handler(event)
        if stored is not None:
            stored.attempts += 1
            stored.status = "processed"
            stored.error = None
            stored.processed_at = utcnow()
            stored.next_attempt_at = None
        db.session.flush()
    except Exception as exc:  # any handler failure: Stripe must retry later
        log.exception("stripe event %s (%s) failed", event.get("id"), event.get("type"))
        db.session.rollback()
        _record_failure(event, f"{type(exc).__name__}: {exc}"[:4000])
        return Outcome("failed", 500)
    return Outcome("processed", 200)


def _record_failure(event: dict[str, Any], error: str) -> None:
    """After the rollback: keep the event, marked failed with its error and one more attempt."""
    insert_ignoring_duplicates(StripeEvent, "id", _row(event, "received") | {"attempts": 0})
    stored = _locked(event["id"])
    stored.attempts += 1
    if stored.status != "processed":  # a concurrent delivery may have succeeded meanwhile
        stored.status = "failed"
        stored.error = error
        retries = RETRY_INTERVALS[stored.attempts - 1 :]
        stored.next_attempt_at = utcnow() + timedelta(seconds=retries[0]) if retries else None
    db.session.flush()


def data_object(event: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about, as Stripe sent it ({} when it is not an object)."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def malformed(event: dict[str, Any]) -> str | None:
    """Why a signed event cannot be stored and handled (a shape no Stripe event has), or None.

    The webhook answers such a body 400 and stores nothing; one stored before this check is set
    aside as ignored instead of failing on every retry."""
    problem = json_problem(event)
    if problem is not None:
        return problem
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    checks = [
        (isinstance(event.get("id"), str) and len(event["id"]) <= 255, "id"),
        (isinstance(event.get("type"), str) and 0 < len(event["type"]) <= 100, "type"),
        (_unix_time(event.get("created")), "created"),
        (isinstance(event.get("livemode", False), bool), "livemode"),
        (_optional_text(event.get("api_version"), 64), "api_version"),
        (isinstance(obj, dict), "data.object is not an object"),
        (isinstance(obj, dict) and _optional_text(obj.get("id"), 255), "data.object.id"),
    ]
    return next((what for ok, what in checks if not ok), None)


def _unix_time(value: Any) -> bool:
    """Absent, or a whole number of seconds between 1970 and 9999."""
    if value is None:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 253402300800


def _optional_text(value: Any, length: int) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= length)
