"""Fixtures for the sandbox suite: a running sandbox, an SDK client and a webhook receiver."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from stripe_sandbox import SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET
from stripe_sandbox.testing import running_sandbox

# Stripe's own example objects, carried by the suite (source and licence in tests/data/stripe/).
FIXTURES = Path(__file__).resolve().parents[1] / "data/stripe/fixtures3.json"


class _Quiet(WSGIRequestHandler):
    def log(self, *args: Any) -> None:
        """Keep test output clean."""


class Receiver:
    """A tiny webhook endpoint that verifies signatures and can fail on purpose."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.bad_signatures = 0
        self._httpd = make_server("127.0.0.1", 0, self._app, threaded=True,
                                  request_handler=_Quiet)  # fmt: skip
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/webhooks/stripe"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        payload = request.get_data(as_text=True)
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("boom", status=500)(environ, start_response)
            try:
                event = stripe.Webhook.construct_event(
                    payload, request.headers.get("Stripe-Signature"), SANDBOX_WEBHOOK_SECRET
                )
            except stripe.SignatureVerificationError:
                self.bad_signatures += 1
                return Response("bad signature", status=400)(environ, start_response)
            self.received.append({"event": event, "raw": json.loads(payload)})
        return Response("ok")(environ, start_response)

    def types(self) -> list[str]:
        """Types of the received events, in arrival order."""
        with self.lock:
            return [r["raw"]["type"] for r in self.received]

    def ids(self) -> list[str]:
        """Ids of the received events, in arrival order."""
        with self.lock:
            return [r["raw"]["id"] for r in self.received]

    def start(self) -> Receiver:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free port."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def sandbox(receiver: Receiver):
    """A fresh sandbox delivering to ``receiver`` with fast retries."""
    with running_sandbox(webhook_url=receiver.url, retry_base=0.05, max_attempts=8) as sb:
        yield sb


@pytest.fixture
def client(sandbox) -> stripe.StripeClient:
    """The SDK configured exactly as the app configures it."""
    return stripe.StripeClient(
        SANDBOX_API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0
    )


@pytest.fixture
def stripe_fixtures() -> dict[str, Any]:
    """Stripe's example objects (`resources` of Stripe's fixtures3.json)."""
    return json.loads(FIXTURES.read_text())["resources"]


@pytest.fixture
def monthly(client: stripe.StripeClient):
    """A monthly EUR price with lookup key ``monthly``."""
    return client.v1.prices.create(
        params={
            "currency": "eur", "unit_amount": 500, "recurring": {"interval": "month"},
            "lookup_key": "monthly", "product_data": {"name": "Membership"},
        }
    )  # fmt: skip


def _subscription_session(client: stripe.StripeClient, price_id: str, **extra: Any):
    params = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": "https://news.example/thanks?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://news.example/join",
        **extra,
    }
    return client.v1.checkout.sessions.create(params=params)


def _http(method: str, url: str, form: dict[str, str] | None = None) -> tuple[int, dict, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - local sandbox
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def subscription_session(client: stripe.StripeClient):
    """Create a subscription-mode Checkout Session for one price: ``f(price_id, **params)``."""
    return lambda price_id, **extra: _subscription_session(client, price_id, **extra)


@pytest.fixture
def http():
    """Plain HTTP without redirects: ``http(method, url, form) -> (status, headers, body)``."""
    return _http
