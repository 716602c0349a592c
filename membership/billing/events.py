"""Stripe events: stored once under their id and dispatched to every registered handler in the same
transaction. Handlers register with @on("type", …); a failing handler rolls back all the work, the
event is kept as failed with its error, and the webhook answers 500 so that Stripe retries."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from membership.billing.models import StripeEvent
from membership.database import insert_ignoring_duplicates
from membership.extensions import db
from membership.timeutil import from_unix, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
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

    status: str  # processed, duplicate, ignored, failed
    http_status: int


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
    # Retries and duplicates are the common repeat: answer them with one read, no write.
    seen = db.session.scalar(select(StripeEvent.status).where(StripeEvent.id == event["id"]))
    if seen in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    event_type = str(event.get("type") or "")
    if bool(event.get("livemode")) != live_mode() or not handlers_for(event_type):
        new = insert_ignoring_duplicates(StripeEvent, "id", _row(event, "ignored"))
        return Outcome("ignored" if new else "duplicate", 200)
    if insert_ignoring_duplicates(StripeEvent, "id", _row(event, "processed")):
        return _run(event, stored=None)
    stored = _locked(event["id"])
    if stored.status in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    return _run(event, stored)  # failed (or received) before: Stripe's retry runs it again


def process(stored: StripeEvent) -> Outcome:
    """Run a stored event's handlers again (replay, or the staff area's retry button)."""
    if not handlers_for(stored.type) or bool(stored.payload.get("livemode")) != live_mode():
        stored.status = "ignored"
        stored.processed_at = utcnow()
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
    db.session.flush()


def data_object(event: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about, as Stripe sent it."""
    return (event.get("data") or {}).get("object") or {}
