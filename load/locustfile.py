"""Readers who browse the fundraiser, join a plan and give through the sandbox's Checkout, and
Stripe sending signed webhooks: the users of `make load` (python -m load starts the stack and
runs this file with locust; it reads its settings from LOAD_* environment variables).

Every request is named "<group>: <what>"; the groups are browse, join, give and webhook (the
app's answers) and sandbox (Stripe's own Checkout pages, reported apart). Each sample and each
completed payment is written to LOAD_RESULTS (JSON) when locust stops, so that the runner can
give exact percentiles and check that every payment was confirmed.

With LOAD_SMOKE=1 (`python -m load --smoke`, the test-suite's run) every reader browses, gives
and joins once, Stripe sends one webhook of each kind, and locust stops when all are done.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import time
import urllib.request
import uuid
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

SANDBOX = os.environ.get("LOAD_SANDBOX_URL", "http://127.0.0.1:12111").rstrip("/")
WEBHOOK_SECRET = os.environ.get("LOAD_WEBHOOK_SECRET", "whsec_sandbox_0000000000000000000000000000")
FUNDRAISER = os.environ.get("LOAD_FUNDRAISER", "independent-together")
OUTLETS = ("all", "mountain-post", "river-daily", "valley-voice")
PLANS = (("supporter", ""), ("insider", ""), ("solidarity", "6"))  # slug, amount (PWYW)
RESULTS = os.environ.get("LOAD_RESULTS", "")
SMOKE = os.environ.get("LOAD_SMOKE") == "1"
EMAIL_DOMAIN = "load.example.org"
CARD = "4242 4242 4242 4242"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

samples: dict[str, list[float]] = defaultdict(list)
failures: dict[str, int] = defaultdict(int)
reasons: dict[str, str] = {}
paid: dict[str, list[str]] = {"join": [], "give": []}  # reader e-mails, Checkout Session ids
window: dict[str, float] = {}  # when the users started and stopped (wall clock)
_readers = itertools.count(1)
_finished: list[HttpUser] = []


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None = None, **_kw):
    """Every request's latency (ms); a failed one is counted with its first reason."""
    samples[name].append(response_time)
    if exception is not None:
        failures[name] += 1
        reasons.setdefault(name, str(exception)[:300])


@events.user_error.add_listener
def _user_error(user_instance, exception: BaseException, tb, **_kw) -> None:
    """A task that raised (a page without its form, say) is an error of its user too."""
    name = f"errors: {type(user_instance).__name__} task raised"
    failures[name] += 1
    samples.setdefault(name, [])
    reasons.setdefault(name, f"{type(exception).__name__}: {exception}"[:300])


@events.test_start.add_listener
def _started(**_kw) -> None:
    window["started"] = time.time()


@events.test_stop.add_listener
def _write_results(**_kw) -> None:
    """Hand the samples to the runner (python -m load)."""
    window["seconds"] = time.time() - window.get("started", time.time())
    if RESULTS:
        with open(RESULTS, "w", encoding="utf-8") as out:
            json.dump({"samples": samples, "failures": failures, "reasons": reasons,
                       "paid": paid, "seconds": window["seconds"]}, out)  # fmt: skip


def reader_address(number: int) -> str:
    """Each new reader comes from an address of their own (198.18.0.0/15, the range set aside
    for benchmarks), sent as X-Forwarded-For to an app behind TRUSTED_PROXIES=1: rate limits
    count per reader, as behind nginx."""
    return f"198.18.{number // 250 % 250}.{number % 250 + 1}"


def csrf_token(html: str, required: bool = True) -> str:
    """The CSRF token of the first form on a page ("" when not `required` and there is none:
    the anonymous campaign page is one page for everyone, and its form needs no token)."""
    match = CSRF.search(html)
    if match is None and required:
        raise ValueError("no CSRF token on the page")
    return match.group(1) if match else ""


def smoke_done(user: HttpUser) -> None:
    """A smoke-run user did each of its tasks once: it stops, and the last one stops locust."""
    _finished.append(user)
    if len(_finished) >= user.environment.parsed_options.num_users:
        gevent.spawn_later(0, user.environment.runner.quit)
    raise StopUser


def sign(body: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header for `body`, as Stripe makes it."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Reader(HttpUser):
    """A reader of the newsroom: reads the fundraiser, gives, sometimes joins as a new member."""

    weight = 9
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.new_reader()
        if SMOKE:
            self.browse()
            self.give()
            self.join()
            smoke_done(self)

    def new_reader(self) -> None:
        """Forget the last reader's session: the next one has their own address and cookies."""
        self.number = next(_readers)
        self.client.cookies.clear()
        self.client.headers["X-Forwarded-For"] = reader_address(self.number)
        self.email = f"reader{self.number}-{uuid.uuid4().hex[:8]}@{EMAIL_DOMAIN}"

    def check(self, response, status: int, location: str = "") -> str:
        """Mark `response` failed unless it has `status` (and, for a redirect, goes to an address
        starting with `location`); returns the body or the redirect's target ("" on failure)."""
        with response:
            target = response.headers.get("Location", "")
            if response.status_code != status:
                why = f" ({response.error!r})" if response.error else ""
                response.failure(f"HTTP {response.status_code}, expected {status}{why}")
                return ""
            if location and not target.startswith(location):
                response.failure(f"redirected to {target!r}, expected {location}…")
                return ""
            response.success()
            return target if 300 <= status < 400 else response.text

    def get(self, url: str, name: str) -> str:
        """GET that must answer 200; returns the body."""
        return self.check(self.client.get(url, name=name, catch_response=True), 200)

    def post(self, url: str, data: dict, name: str, location: str = "") -> str:
        """POST a form that must answer 303 (to `location`…); returns where it leads."""
        response = self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        )
        return self.check(response, 303, location)

    @task(6)
    def browse(self) -> None:
        """The home page, the campaign page, its progress API and, now and then, the widget."""
        self.get("/", "browse: GET /")
        self.get(f"/fundraisers/{FUNDRAISER}", "browse: GET /fundraisers/[slug]")
        self.get(f"/api/v1/fundraisers/{FUNDRAISER}/progress", "browse: GET progress API")
        if random.random() < 0.3:
            self.get(f"/fundraisers/{FUNDRAISER}/embed", "browse: GET /fundraisers/[slug]/embed")

    @task(2)
    def give(self) -> None:
        """A gift to the fundraiser, paid on the sandbox's Checkout."""
        page = self.get(f"/fundraisers/{FUNDRAISER}", "give: GET /fundraisers/[slug]")
        if not page:
            return
        form = {
            "csrf_token": csrf_token(page, required=False),
            "amount": random.choice(("10", "25", "50", "7.50", "120")),
            "frequency": "monthly" if random.random() < 0.2 else "once",
            "outlet": random.choice(OUTLETS),
            "public_name": f"Load reader {self.number}",
            "message": "",
        }
        checkout = self.post(
            f"/fundraisers/{FUNDRAISER}/donate", form, "give: POST /fundraisers/[slug]/donate",
            SANDBOX,
        )  # fmt: skip
        back = self.pay(checkout) if checkout else ""
        if back and self.get(back, "give: GET /fundraisers/[slug]/thanks"):
            paid["give"].append(parse_qs(urlsplit(back).query).get("session_id", [""])[0])

    @task(1)
    def join(self) -> None:
        """A new reader registers, chooses a plan and subscribes on the sandbox's Checkout."""
        self.new_reader()
        page = self.get("/register", "join: GET /register")
        if not page:
            return
        form = {"csrf_token": csrf_token(page), "email": self.email, "name": "Load Reader",
                "password": f"load {uuid.uuid4().hex} reader", "locale": "en"}  # fmt: skip
        if not self.post("/register", form, "join: POST /register"):
            return
        page = self.get("/plans", "join: GET /plans")
        if not page:
            return
        slug, amount = random.choice(PLANS)
        choice = {"csrf_token": csrf_token(page), "interval": random.choice(("month", "year"))}
        if amount:  # pay what you want: monthly, at least the minimum
            choice = {**choice, "interval": "month", "amount": amount}
        checkout = self.post(
            f"/plans/{slug}/checkout", choice, "join: POST /plans/[slug]/checkout", SANDBOX
        )
        back = self.pay(checkout) if checkout else ""
        if back and self.get(back, "join: GET /checkout/success"):
            paid["join"].append(self.email)
            self.get("/account", "join: GET /account")

    def pay(self, checkout_url: str) -> str:
        """Pay with the test card on the sandbox's Checkout page; returns the return address."""
        if not self.get(checkout_url, "sandbox: GET Checkout page"):
            return ""
        form = {"action": "pay", "email": self.email, "card": CARD, "exp": "12 / 34",
                "cvc": "123"}  # fmt: skip
        return self.post(checkout_url, form, "sandbox: POST pay", self.host)


class Stripe(HttpUser):
    """Stripe's side: delivers the sandbox's real events again (at least once means
    duplicates), event types the app ignores, and the odd forged signature."""

    fixed_count = 1
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        self.pool: list[str] = []
        self.fetched = 0.0
        if SMOKE:
            for kind in (0.05, 0.15, 0.5):  # an ignored type, a forged signature, a duplicate
                self.deliver(kind)
            smoke_done(self)

    def refresh(self) -> None:
        """The sandbox's latest events, every few seconds (not timed: that is Stripe's side)."""
        if self.pool and time.monotonic() - self.fetched < 5:
            return
        request = urllib.request.Request(  # noqa: S310 - the local sandbox
            f"{SANDBOX}/v1/events?limit=50",
            headers={"Authorization": "Bearer sk_test_sandbox"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            self.pool = [json.dumps(e) for e in json.loads(answer.read())["data"]]
        self.fetched = time.monotonic()

    def post(self, body: str, signature: str, name: str, status: int) -> None:
        headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
        with self.client.post("/webhooks/stripe", data=body.encode(), headers=headers,
                              name=name, catch_response=True) as response:  # fmt: skip
            if response.status_code == status:
                response.success()
            else:
                why = f" ({response.error!r})" if response.error else ""
                response.failure(f"HTTP {response.status_code}, expected {status}{why}")

    @task
    def deliver(self, roll: float | None = None) -> None:
        """One delivery: 10 % an ignored type, 10 % forged, the rest a duplicate."""
        self.refresh()
        roll = random.random() if roll is None else roll
        if roll < 0.1 or not self.pool:
            event = {"id": f"evt_load_{uuid.uuid4().hex}", "object": "event",
                     "type": "customer.tax_id.created", "created": int(time.time()),
                     "livemode": False, "data": {"object": {"id": f"txi_{uuid.uuid4().hex[:14]}",
                                                            "object": "tax_id"}}}  # fmt: skip
            body = json.dumps(event)
            self.post(body, sign(body), "webhook: POST ignored event type", 200)
        elif roll < 0.2:
            body = random.choice(self.pool)
            self.post(body, sign(body, "whsec_forged"), "webhook: POST bad signature", 400)
        else:
            body = random.choice(self.pool)
            self.post(body, sign(body), "webhook: POST duplicate event", 200)
