"""POST /webhooks/stripe: verify the raw body, check the event's shape, store it once, process
it (here, or in the worker in queued mode), answer."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import DBAPIError

from membership.billing import events, stripe_gateway
from membership.extensions import csrf, db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/stripe")
@csrf.exempt  # authenticated by Stripe's signature, not by a cookie
@limiter.exempt
def stripe_webhook():
    """2xx once the event is stored (duplicates too); 400 with nothing stored on a bad signature
    or on a signed body that is not a well-formed event (it would fail on every retry)."""
    payload = request.get_data(cache=False)
    try:
        event = stripe_gateway.verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except stripe_gateway.MalformedWebhook as exc:
        return _malformed(str(exc))
    except stripe_gateway.WebhookSignatureError as exc:
        return jsonify(error={"status": 400, "message": f"invalid signature: {exc}"}), 400
    problem = events.malformed(event)
    if problem is not None:
        return _malformed(problem, event.get("id"))
    try:
        outcome = events.receive(event)
        db.session.commit()
    except DBAPIError as exc:  # the database is away: nothing stored, so Stripe must retry
        db.session.rollback()
        log.warning("stripe webhook %s not stored, database unavailable: %s", event["id"], exc)
        message = "database unavailable; retry later"
        return jsonify(error={"status": 503, "message": message}), 503, {"Retry-After": "10"}
    return jsonify(received=True, status=outcome.status), outcome.http_status


def _malformed(problem: str, event_id: object = None):
    """The answer to a signed body that is no event we can store: 400, logged for operators."""
    log.warning("stripe webhook refused, malformed event %r: %s", event_id, problem)
    return jsonify(error={"status": 400, "message": f"malformed event: {problem}"}), 400
