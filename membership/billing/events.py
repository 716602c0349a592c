"""Stripe events: stored once under their id, then dispatched to every registered handler in one
transaction. Handlers register with @on("type", …); a failing handler rolls back its work, marks the
event failed and makes the webhook answer 500, so that Stripe retries."""

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


def store(event: dict[str, Any]) -> StripeEvent:
    """Insert the event under its id (once, enforced by the primary key) and lock its row."""
    obj = (event.get("data") or {}).get("object") or {}
    insert_ignoring_duplicates(
        StripeEvent,
        "id",
        {
            "id": event["id"],
            "type": str(event.get("type") or "unknown")[:100],
            "object_id": obj.get("id") if isinstance(obj, dict) else None,
            "created": from_unix(event.get("created")) or utcnow(),
            "livemode": bool(event.get("livemode")),
            "api_version": event.get("api_version"),
            "payload": event,
            "status": "received",
            "attempts": 0,
            "received_at": utcnow(),
        },
    )
    # FOR UPDATE serialises concurrent deliveries of the same event on PostgreSQL.
    return db.session.scalar(
        select(StripeEvent).where(StripeEvent.id == event["id"]).with_for_update()
    )


def live_mode() -> bool:
    """Whether this app runs on live keys (events of the other mode are ignored)."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_live_", "rk_live_"))


def receive(event: dict[str, Any]) -> Outcome:
    """Store a verified event and process it unless that was done before."""
    stored = store(event)
    if stored.status in ("processed", "ignored"):
        return Outcome("duplicate", 200)
    return process(stored)


def process(stored: StripeEvent) -> Outcome:
    """Run the handlers of a stored event inside a savepoint; record the outcome on the row."""
    event = stored.payload
    handlers = handlers_for(stored.type)
    if bool(event.get("livemode")) != live_mode() or not handlers:
        stored.status = "ignored"
        stored.processed_at = utcnow()
        return Outcome("ignored", 200)
    stored.attempts += 1
    try:
        with db.session.begin_nested():
            for handler in handlers:
                handler(event)
    except Exception as exc:  # any handler failure: Stripe must retry later
        log.exception("stripe event %s (%s) failed", stored.id, stored.type)
        stored.status = "failed"
        stored.error = f"{type(exc).__name__}: {exc}"[:4000]
        return Outcome("failed", 500)
    stored.status = "processed"
    stored.error = None
    stored.processed_at = utcnow()
    return Outcome("processed", 200)


def data_object(event: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about, as Stripe sent it."""
    return (event.get("data") or {}).get("object") or {}
