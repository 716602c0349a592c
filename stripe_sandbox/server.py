"""SandboxServer: the sandbox's HTTP server, webhook deliverer and Python control methods."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from stripe_sandbox import SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET
from stripe_sandbox.api import SandboxApp
from stripe_sandbox.engine import Engine
from stripe_sandbox.webhooks import Deliverer

log = logging.getLogger("stripe_sandbox")


class _QuietHandler(WSGIRequestHandler):
    """Request handler that logs through ``stripe_sandbox`` at DEBUG instead of stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Send Werkzeug's access log to DEBUG."""
        log.debug("%s " + message, self.address_string(), *args)


def _is_live_key(key: str) -> bool:
    return key.startswith(("sk_live_", "rk_live_", "pk_live_"))


class SandboxServer:
    """An offline Stripe on 127.0.0.1 with signed webhooks, a test clock and control methods."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
        api_key: str = SANDBOX_API_KEY,
        state_file: str | None = None,
        retry_base: float = 1.0,
        chaos: bool = False,
        max_attempts: int = 8,
        public_url: str | None = None,
    ) -> None:
        if _is_live_key(api_key):
            raise ValueError("the sandbox refuses live keys: use an sk_test_ key")
        self.host = host
        self.port = port
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.public_url = public_url
        self.engine = Engine(lambda: self.url, state_file)
        self.deliverer = Deliverer(
            webhook_secret, webhook_url, retry_base=retry_base, max_attempts=max_attempts,
            chaos=chaos, on_delivered=self._delivered,
        )  # fmt: skip
        self.engine.webhook_enabled = webhook_url is not None
        self.engine.on_batch = self.deliverer.enqueue
        self.app = SandboxApp(self.engine, self)
        self._httpd: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:12111``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Bind the port (0 picks a free one) and serve in a background thread."""
        self._httpd = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._httpd.server_port
        self._thread = threading.Thread(
            # A short poll keeps stop() fast; the test-suite starts many servers.
            target=self._httpd.serve_forever,
            args=(0.05,),
            name="stripe-sandbox",
            daemon=True,
        )
        self._thread.start()
        self.deliverer.start()
        return self

    def stop(self) -> None:
        """Stop serving and delivering."""
        self.deliverer.stop()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI's foreground mode) until interrupted."""
        self._httpd = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._httpd.server_port
        self.deliverer.start()
        try:
            self._httpd.serve_forever()
        finally:
            self.deliverer.stop()
            self._httpd.server_close()
            self._httpd = None

    # -------------------------------------------------------------- webhooks

    @property
    def webhook_url(self) -> str | None:
        """Where events are delivered; None stores them only."""
        return self.deliverer.url

    @property
    def chaos(self) -> bool:
        """Whether deliveries are duplicated and reordered."""
        return self.deliverer.chaos

    def set_webhook_url(self, url: str | None) -> None:
        """Deliver future events to ``url`` (None: store only)."""
        with self.engine.lock:
            self.deliverer.url = url
            self.engine.webhook_enabled = url is not None

    def set_chaos(self, enabled: bool) -> None:
        """Turn duplicate-and-shuffle delivery on or off."""
        self.deliverer.chaos = bool(enabled)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery succeeded or gave up; False on timeout."""
        return self.deliverer.wait(timeout)

    def pending_deliveries(self) -> int:
        """Deliveries queued or in flight."""
        return self.deliverer.pending()

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """The delivery log: event_id, type, attempt, status (HTTP code or None), error, at."""
        with self.deliverer._cond:
            return [dict(d) for d in self.deliverer.log]

    def resend_event(self, event_id: str) -> None:
        """Deliver a stored event again."""
        with self.engine.lock:
            event = self.engine.get(event_id, "event")
            payload = self.engine.render(event)
        self.deliverer.enqueue([payload])

    def _delivered(self, event_id: str) -> None:
        with self.engine.lock:
            event = self.engine.objects.get(event_id)
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] = 0

    # --------------------------------------------------------------- controls

    def now(self) -> int:
        """Sandbox time (unix seconds)."""
        with self.engine.lock:
            return self.engine.now()

    def advance_clock(self, seconds: int | None = None, to: int | None = None) -> int:
        """Move the test clock forward by ``seconds`` or to ``to``; returns the new now."""
        with self.engine.operation():
            return self.engine.advance(seconds=seconds, to=to)

    def complete_checkout(
        self,
        session_id: str,
        card: str = "4242424242424242",
        email: str | None = None,
        promotion_code: str | None = None,
    ) -> dict[str, Any]:
        """Pay a Checkout Session without the browser; raises StripeError on a declined card."""
        with self.engine.operation():
            sess = self.engine.get(session_id, "checkout.session")
            self.engine.complete_checkout(sess, card, email, promotion_code)
            return self.engine.render(sess)

    def dispute_charge(self, charge_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        """Open a dispute on a charge (charge.dispute.created)."""
        with self.engine.operation():
            dp = self.engine.dispute_charge(self.engine.get(charge_id, "charge"), reason)
            return self.engine.render(dp)

    def close_dispute(self, dispute_id: str, outcome: str = "won") -> dict[str, Any]:
        """Close a dispute as ``won`` or ``lost`` (charge.dispute.closed)."""
        with self.engine.operation():
            dp = self.engine.close_dispute(self.engine.get(dispute_id, "dispute"), outcome)
            return self.engine.render(dp)

    def move_refund(self, refund_id: str, status: str) -> dict[str, Any]:
        """Move a refund to ``succeeded``, ``failed`` or ``canceled`` (refund.updated, …)."""
        with self.engine.operation():
            ref = self.engine.move_refund(self.engine.get(refund_id, "refund"), status)
            return self.engine.render(ref)

    def reset(self) -> None:
        """Forget all state and queued deliveries (the delivery log too)."""
        with self.engine.lock:
            self.engine.reset()
            self.engine.save()
        self.deliverer.clear()
        with self.deliverer._cond:
            self.deliverer.log.clear()

    def get(self, obj_id: str) -> dict[str, Any]:
        """The public JSON of any stored object by id."""
        with self.engine.lock:
            return self.engine.render(self.engine.objects[obj_id])

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Stored events, oldest first, optionally of one type."""
        with self.engine.lock:
            found = [self.engine.render(e) for e in reversed(self.engine.of_kind("event"))]
        return [e for e in found if type is None or e["type"] == type]
