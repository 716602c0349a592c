"""Signed, asynchronous, at-least-once webhook delivery with retries and an optional chaos mode."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger("stripe_sandbox.webhooks")


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Build the ``Stripe-Signature`` header value for a payload, as Stripe signs it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class Deliverer:
    """A background thread POSTing queued events to one URL, retrying with back-off."""

    def __init__(
        self,
        secret: str,
        url: str | None = None,
        retry_base: float = 1.0,
        max_attempts: int = 8,
        chaos: bool = False,
        timeout: float = 5.0,
        on_delivered: Callable[[str], None] = lambda event_id: None,
    ) -> None:
        self.secret = secret
        self.url = url
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self._reached = False  # has the endpoint answered (any status) yet?
        self.chaos = chaos
        self.timeout = timeout
        self.on_delivered = on_delivered
        self.log: list[dict[str, Any]] = []
        self._queue: list[tuple[float, int, str, str, int]] = []
        self._counter = itertools.count()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the delivery thread."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread; undelivered events are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=self.timeout + 1)

    def enqueue(self, events: list[dict[str, Any]]) -> None:
        """Queue a batch of events (one API change); chaos duplicates and shuffles it."""
        if not self.url:
            return
        payloads = [(e["id"], json.dumps(e, indent=2)) for e in events]
        if self.chaos:
            # Stripe promises neither order nor exactly-once delivery.
            payloads = [p for p in payloads for _ in range(random.randint(1, 3))]
            random.shuffle(payloads)
        with self._cond:
            now = time.monotonic()
            for event_id, body in payloads:
                heapq.heappush(self._queue, (now, next(self._counter), event_id, body, 1))
            self._cond.notify_all()

    def pending(self) -> int:
        """Deliveries queued or in flight."""
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery succeeded or gave up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def clear(self) -> None:
        """Drop everything queued (used by reset)."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._queue and self._queue[0][0] <= time.monotonic():
                        break
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, event_id, body, attempt = heapq.heappop(self._queue)
                self._in_flight += 1
                url = self.url
            status, error = self._post(url, body)
            ok = status is not None and 200 <= status < 300
            entry = {
                "event_id": event_id,
                "type": json.loads(body)["type"],
                "attempt": attempt,
                "status": status,
                "error": error,
                "at": time.time(),
                "url": url,
            }
            # Until the app has answered once (it starts after the demo paid), a refused
            # connection is the expected wait, not news: said at DEBUG, and retried as always.
            self._reached = self._reached or status is not None
            level = logging.INFO if self._reached else logging.DEBUG
            log.log(level, "webhook %s %s attempt %d -> %s", entry["type"], event_id, attempt,
                    status or error)  # fmt: skip
            with self._cond:
                self.log.append(entry)
                if not ok and attempt < self.max_attempts and not self._stopping:
                    delay = self.retry_base * 2 ** (attempt - 1)
                    heapq.heappush(
                        self._queue,
                        (time.monotonic() + delay, next(self._counter), event_id, body,
                         attempt + 1),
                    )  # fmt: skip
                self._in_flight -= 1
                self._cond.notify_all()
            if ok:
                try:
                    self.on_delivered(event_id)
                except Exception:  # a bookkeeping failure must not kill delivery
                    log.exception("delivery callback failed")

    def _post(self, url: str | None, body: str) -> tuple[int | None, str | None]:
        if not url:
            return None, "no webhook url"
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured receiver
            url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(body, self.secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310  # nosec B310
                resp.read()
                return resp.status, None
        except urllib.error.HTTPError as exc:
            exc.read()
            exc.close()
            return exc.code, None
        except Exception as exc:  # connection refused, timeout, bad URL: all retried
            return None, f"{type(exc).__name__}: {exc}"
