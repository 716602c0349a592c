"""The webhook endpoint as Stripe sees it: signatures, duplicates, failures and retries."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from sqlalchemy import func, select

from membership.billing import events, stripe_gateway
from membership.billing.models import StripeEvent
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import utcnow
from tests.billing.conftest import join


def stored(app):
    with app.app_context():
        return {
            e.id: (e.type, e.status, e.attempts) for e in db.session.scalars(select(StripeEvent))
        }


def ledger_total(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))


def fake_event(event_type="invoice.created", livemode=False, **obj) -> dict:
    return {
        "id": f"evt_test_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": livemode,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": "in_x", "object": "invoice", **obj}},
    }


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "t=1,v1=deadbeef",
        "garbage",
    ],
)
def test_bad_or_missing_signature_is_400_and_stores_nothing(app, client, header):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    response = client.post("/webhooks/stripe", data=json.dumps(fake_event()), headers=headers)
    assert response.status_code == 400
    assert "invalid signature" in response.get_json()["error"]["message"]
    assert stored(app) == {}


def test_wrong_secret_and_stale_timestamp_are_refused(app, stripe_world):
    assert stripe_world.post(fake_event(), secret="whsec_other").status_code == 400
    stale = int(time.time()) - 301  # Stripe's tolerance is five minutes
    assert stripe_world.post(fake_event(), timestamp=stale).status_code == 400
    assert stored(app) == {}


def test_tampered_body_is_refused(app, client):
    event = fake_event()
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    tampered = body.replace("invoice.created", "invoice.paid")
    response = client.post("/webhooks/stripe", data=tampered, headers={"Stripe-Signature": header})
    assert response.status_code == 400
    assert stored(app) == {}


def test_unknown_types_are_stored_as_ignored(app, stripe_world):
    event = fake_event("radar.early_fraud_warning.created")
    response = stripe_world.post(event)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    assert stored(app)[event["id"]][1] == "ignored"


def test_events_of_the_other_mode_are_ignored(app, stripe_world):
    event = fake_event("invoice.paid", livemode=True)
    assert stripe_world.post(event).get_json()["status"] == "ignored"


def test_not_json_with_a_valid_signature_is_400(app, client):
    body = "this is not json"
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": header})
    assert response.status_code == 400
    assert stored(app) == {}


def test_duplicates_are_acknowledged_and_change_nothing(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    batch = stripe_world.new_events()
    stripe_world.deliver(batch)
    total = ledger_total(app)
    assert total == 500
    again = stripe_world.deliver(batch)  # Stripe retries everything
    assert {r.get_json()["status"] for r in again} == {"duplicate"}
    assert ledger_total(app) == total
    assert all(attempts <= 1 for _, _, attempts in stored(app).values())


def test_a_crashing_handler_fails_then_the_retry_succeeds(
    app, reader, auth, stripe_world, monkeypatch
):
    stripe_world.pay(join(auth))
    batch = stripe_world.new_events()
    paid = next(e for e in batch if e["type"] == "invoice.paid")
    calls = {"n": 0}
    original = events.handlers_for

    def flaky(event_type):
        handlers = original(event_type)
        if event_type != "invoice.paid":
            return handlers

        def boom(event):
            calls["n"] += 1
            # Do some work first: it must be rolled back.
            db.session.add(
                LedgerEntry(
                    kind="gift",
                    amount=1,
                    currency="eur",
                    stripe_object_id="half-written",
                    occurred_at=utcnow(),
                )
            )
            db.session.flush()
            raise RuntimeError("database hiccup")

        return [boom, *handlers]

    monkeypatch.setattr(events, "handlers_for", flaky)
    response = stripe_world.post(paid)
    assert response.status_code == 500
    status = stored(app)[paid["id"]]
    assert status[1:] == ("failed", 1)
    with app.app_context():
        error = db.session.get(StripeEvent, paid["id"]).error
        assert "database hiccup" in error
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0  # rolled back

    monkeypatch.setattr(events, "handlers_for", original)
    response = stripe_world.post(paid)  # Stripe's retry
    assert response.status_code == 200
    assert stored(app)[paid["id"]][1:] == ("processed", 2)
    assert ledger_total(app) == 500
    assert calls["n"] == 1


def test_an_oversized_body_is_413_and_stores_nothing(app, client):
    # MAX_CONTENT_LENGTH bounds every body; Werkzeug applies it to chunked bodies too when the
    # server (gunicorn) terminates the input stream.
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    headers = {"Stripe-Signature": "t=1,v1=x", "Content-Type": "application/json"}
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413
    assert stored(app) == {}


def signed_post(app, client, body: str, timestamp: int | None = None):
    """POST a raw body with a valid signature over exactly these bytes."""
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"], timestamp=timestamp
    )
    return client.post(
        "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-299, 200), (-301, 400), (0, 200), (299, 200), (301, 400), (86_400 * 365, 400)],
)
def test_a_signature_counts_for_five_minutes_either_side_of_now(
    app, client, monkeypatch, offset, expected
):
    # The clock the webhook reads stands still, so the margins are exact to the second.
    now = int(time.time())
    monkeypatch.setattr(stripe_gateway, "webhook_clock", lambda: now + 0.5)
    event = fake_event("radar.early_fraud_warning.created")
    response = signed_post(app, client, json.dumps(event), timestamp=now + offset)
    assert response.status_code == expected, response.get_json()
    if expected == 400:
        assert "tolerance" in response.get_json()["error"]["message"]
        assert stored(app) == {}
    else:
        assert stored(app)[event["id"]][1] == "ignored"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [50_000, 2_000, 100])
def test_a_signed_body_nested_too_deep_is_400_and_stores_nothing(app, client, depth):
    body = (
        '{"id": "evt_deep", "object": "event", "type": "invoice.paid", "created": 1, '
        '"livemode": false, "data": {"object": {"id": "in_x", "lines": ' + nested(depth) + "}}}"
    )
    response = signed_post(app, client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400
    assert stored(app) == {}


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"object": "in_x"}},
        {"data": {"object": ["in_x"]}},
        {"data": "in_x"},
        {"data": None},
        {"type": 7},
        {"type": "x" * 101},
        {"created": "yesterday"},
        {"created": 10**20},
        {"livemode": "no"},
        {"api_version": {"v": 1}},
        {"data": {"object": {"id": 42, "object": "invoice"}}},
        {"data": {"object": {"id": "in_\u0000x", "object": "invoice"}}},
        {"data": {"object": {"id": "in_x", "metadata": {"k\u0000": "v"}}}},
        {"data": {"object": {"id": "in_x", "description": "\ud800"}}},
    ],
)
def test_a_signed_event_of_the_wrong_shape_is_400_and_stores_nothing(
    app, client, stripe_world, change
):
    event = fake_event("invoice.paid") | change
    response = signed_post(app, client, json.dumps(event))
    assert response.status_code == 400
    assert "malformed event" in response.get_json()["error"]["message"]
    assert stored(app) == {}


def test_a_stored_event_of_the_wrong_shape_is_set_aside_not_retried(app):
    # Rows stored before the webhook checked the shape: the worker sets them aside once.
    event = fake_event("invoice.paid") | {"data": {"object": "in_x"}}
    with app.app_context():
        db.session.add(
            StripeEvent(id=event["id"], type="invoice.paid", created=utcnow(), payload=event,
                        status="failed", attempts=3, next_attempt_at=utcnow())
        )  # fmt: skip
        db.session.commit()
        assert events.run_due() == {"ignored": 1}
        row = db.session.get(StripeEvent, event["id"])
        assert row.status == "ignored" and "malformed" in row.error
        assert events.run_due() == {}
