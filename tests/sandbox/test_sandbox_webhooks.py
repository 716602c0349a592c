"""Webhook delivery: signed like Stripe, async, retried, chaotic on demand; HTTP controls."""

from __future__ import annotations

import json
import logging
import urllib.request

import stripe

from stripe_sandbox import SANDBOX_WEBHOOK_SECRET
from stripe_sandbox.testing import running_sandbox
from stripe_sandbox.webhooks import sign


def test_sandbox_signature_matches_sdk():
    """Our signature header verifies with the SDK and equals the SDK's own signing."""
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {}})
    header = sign(payload, SANDBOX_WEBHOOK_SECRET, timestamp=1_700_000_000)
    expected = stripe.WebhookSignature._compute_signature(
        f"1700000000.{payload}", SANDBOX_WEBHOOK_SECRET
    )
    assert header == f"t=1700000000,v1={expected}"
    fresh = sign(payload, SANDBOX_WEBHOOK_SECRET)
    event = stripe.Webhook.construct_event(payload, fresh, SANDBOX_WEBHOOK_SECRET)
    assert event.id == "evt_1"


def test_sandbox_every_delivery_verifies(client, sandbox, receiver):
    """Each delivered event verifies with construct_event and matches the stored event."""
    client.v1.customers.create(params={"email": "w@x.example"},
                               options={"idempotency_key": "cus-w"})  # fmt: skip
    cus = client.v1.customers.list().data[0]
    client.v1.customers.update(cus.id, params={"name": "W"})
    assert sandbox.wait_for_deliveries(5)
    assert receiver.bad_signatures == 0
    assert receiver.types() == ["customer.created", "customer.updated"]
    created = receiver.received[0]["event"]
    assert created.request.idempotency_key == "cus-w" and created.request.id.startswith("req_")
    assert receiver.received[1]["raw"]["data"]["previous_attributes"] == {"name": None}
    stored = client.v1.events.retrieve(created.id)
    assert stored.pending_webhooks == 0 and stored.data.object.email == "w@x.example"
    listed = client.v1.events.list(params={"type": "customer.*"})
    assert [e.type for e in listed.data] == ["customer.updated", "customer.created"]
    listed = client.v1.events.list(params={"types": ["customer.updated"]})
    assert len(listed.data) == 1


def test_sandbox_retry_after_server_error(client, sandbox, receiver):
    """A 500 from the receiver is retried with back-off until it succeeds."""
    receiver.fail_next = 2
    client.v1.customers.create(params={"email": "r@x.example"})
    assert sandbox.wait_for_deliveries(5)
    log = sandbox.deliveries
    assert [(d["attempt"], d["status"]) for d in log] == [(1, 500), (2, 500), (3, 200)]
    assert receiver.types() == ["customer.created"]
    assert log[2]["at"] - log[0]["at"] >= 0.05 + 0.1 * 0.9


def test_sandbox_retry_after_connection_error_gives_up():
    """A dead endpoint is retried up to max_attempts, then given up; events stay listable."""
    with running_sandbox(webhook_url="http://127.0.0.1:9/nothing", retry_base=0.01,
                         max_attempts=3) as sb:  # fmt: skip
        c = stripe.StripeClient("sk_test_x", base_addresses={"api": sb.url},
                                max_network_retries=0)  # fmt: skip
        c.v1.customers.create(params={"email": "gone@x.example"})
        assert sb.wait_for_deliveries(5)
        assert [d["attempt"] for d in sb.deliveries] == [1, 2, 3]
        assert all(d["status"] is None and d["error"] for d in sb.deliveries)
        assert c.v1.events.list().data[0].pending_webhooks == 1


def test_sandbox_chaos_duplicates_and_reorders(client, sandbox, receiver, monthly,
                                                subscription_session):  # fmt: skip
    """Chaos delivers every event at least once, some more than once, not in order."""
    sandbox.set_chaos(True)
    for _ in range(3):
        sess = subscription_session(monthly.id)
        sandbox.complete_checkout(sess.id, email="c@x.example")
    assert sandbox.wait_for_deliveries(10)
    ordered = [
        e["id"] for e in sandbox.events() if e["type"] not in ("product.created", "price.created")
    ]
    got = receiver.ids()
    assert set(got) >= set(ordered)
    assert len(got) > len(set(got))
    deduped = list(dict.fromkeys(i for i in got if i in ordered))
    assert deduped != ordered
    sandbox.set_chaos(False)


def test_sandbox_store_only_then_resend(receiver):
    """Without a webhook URL events are stored only; resend delivers one later."""
    with running_sandbox(retry_base=0.05) as sb:
        c = stripe.StripeClient("sk_test_x", base_addresses={"api": sb.url},
                                max_network_retries=0)  # fmt: skip
        c.v1.customers.create(params={"email": "s@x.example"})
        event = c.v1.events.list().data[0]
        assert event.pending_webhooks == 0 and sb.deliveries == []
        sb.set_webhook_url(receiver.url)
        sb.resend_event(event.id)
        assert sb.wait_for_deliveries(5)
        assert receiver.ids() == [event.id]


def _control(sb, path: str, body: dict | None = None, method: str = "POST") -> dict:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    req = urllib.request.Request(  # noqa: S310 - local sandbox
        f"{sb.url}/_sandbox/{path}", data=data, method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local sandbox
        return json.loads(resp.read())


def test_sandbox_http_controls(client, sandbox, receiver, monthly, subscription_session):
    """The /_sandbox endpoints drive the clock, checkout, disputes, chaos, webhooks, reset."""
    start = _control(sandbox, "clock", method="GET")["now"]
    assert _control(sandbox, "clock/advance", {"seconds": 3600})["now"] >= start + 3600
    sess = subscription_session(monthly.id)
    done = _control(sandbox, f"checkout/sessions/{sess.id}/complete",
                    {"card": "4242 4242 4242 4242", "email": "h@x.example"})  # fmt: skip
    assert done["status"] == "complete"
    charge = client.v1.charges.list().data[0]
    dispute = _control(sandbox, f"charges/{charge.id}/dispute", {"reason": "general"})
    assert dispute["status"] == "needs_response"
    assert _control(sandbox, f"disputes/{dispute['id']}/close", {"outcome": "won"})[
        "status"] == "won"  # fmt: skip
    assert _control(sandbox, "chaos", {"enabled": False})["chaos"] is False
    assert sandbox.wait_for_deliveries(5)
    event_id = receiver.ids()[0]
    _control(sandbox, f"events/{event_id}/resend")
    assert _control(sandbox, "deliveries/wait", {"timeout": 5})["done"] is True
    assert receiver.ids().count(event_id) == 2
    assert _control(sandbox, "deliveries", method="GET")["pending"] == 0
    _control(sandbox, "webhook", {"url": None})
    assert sandbox.webhook_url is None
    _control(sandbox, "reset")
    assert client.v1.customers.list().data == [] and client.v1.events.list().data == []


def test_refused_deliveries_before_the_app_first_answers_are_quiet(caplog, receiver):
    """`make run` pays the demo before the app serves: those waits are not news (DEBUG); once
    the endpoint has answered, every delivery, failed or not, is logged at INFO again."""
    caplog.set_level(logging.DEBUG, logger="stripe_sandbox.webhooks")
    with running_sandbox(webhook_url="http://127.0.0.1:9/nothing", retry_base=0.01,
                         max_attempts=2) as sb:  # fmt: skip
        c = stripe.StripeClient("sk_test_x", base_addresses={"api": sb.url},
                                max_network_retries=0)  # fmt: skip
        c.v1.customers.create(params={"email": "early@x.example"})
        assert sb.wait_for_deliveries(5)
        refused = [r for r in caplog.records if "attempt" in r.getMessage()]
        assert len(refused) == 2 and {r.levelno for r in refused} == {logging.DEBUG}

        caplog.clear()
        sb.set_webhook_url(receiver.url)
        receiver.fail_next = 1
        c.v1.customers.create(params={"email": "later@x.example"})
        assert sb.wait_for_deliveries(5)
        answered = [r for r in caplog.records if "attempt" in r.getMessage()]
        assert [r.levelno for r in answered] == [logging.INFO, logging.INFO]
        assert "-> 500" in answered[0].getMessage() and "-> 200" in answered[1].getMessage()
