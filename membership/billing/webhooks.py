"""POST /webhooks/stripe: verify the raw body, store the event once, process it (here, or in the
worker in queued mode), answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from membership.billing import events, stripe_gateway
from membership.extensions import csrf, db, limiter

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/stripe")
@csrf.exempt  # authenticated by Stripe's signature, not by a cookie
@limiter.exempt
def stripe_webhook():
    """2xx once the event is stored (duplicates too); 400 with nothing stored on a bad signature."""
    payload = request.get_data(cache=False)
    try:
        event = stripe_gateway.verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except stripe_gateway.WebhookSignatureError as exc:
        return jsonify(error={"status": 400, "message": f"invalid signature: {exc}"}), 400
    outcome = events.receive(event)
    db.session.commit()
    return jsonify(received=True, status=outcome.status), outcome.http_status
