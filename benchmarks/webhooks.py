"""Webhook ingestion on PostgreSQL: events/s, ours (queued and inline) against a bare endpoint.

Both run in this process through Flask's test client against the same PostgreSQL server. The
Stripe sandbox runs in its own process, as Stripe would be elsewhere. The events are a real
membership lifecycle (joins and renewals) made by the sandbox, posted in order, signed as Stripe
signs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager

import stripe
from flask import Flask, jsonify, request
from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

BASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/membership_bench_webhooks"
)
JOINS = int(os.environ.get("BENCH_WEBHOOK_JOINS", "60"))
ROUNDS = 3


def _fresh_database(url: str) -> str:
    """Drop and create the benchmark database; returns its URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return url


@contextmanager
def sandbox_process():
    """`python -m stripe_sandbox` on a free port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "stripe_sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/_sandbox/clock", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _control(url: str, path: str, body: dict) -> dict:
    """POST to the sandbox's control API."""
    request_ = urllib.request.Request(  # noqa: S310 - local sandbox
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request_, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _all_events(url: str) -> list[dict]:
    """Every event the sandbox made, oldest first."""
    client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": url})
    events, params = [], {"limit": 100}
    while True:
        page = client.v1.events.list(params=params)
        data = json.loads(page.last_response.body)["data"]
        events.extend(data)
        if not page.has_more:
            return list(reversed(events))
        params["starting_after"] = data[-1]["id"]


def _redis_or_none() -> str | None:
    """A scratch Redis database for the mail queue, as production runs with one; None without."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    try:
        Redis.from_url(url).flushdb()
    except RedisError:
        return None
    return url


def bare_app(url: str, secret: str) -> Flask:
    """Verify the signature and insert the raw event: the least a webhook endpoint can do."""
    engine = create_engine(url)
    metadata = MetaData()
    raw = Table("bare_events", metadata, Column("id", String(255), primary_key=True),
                Column("payload", Text))  # fmt: skip
    metadata.create_all(engine)
    app = Flask("bare")
    app.extensions["engine"] = engine

    @app.post("/webhooks/stripe")
    def hook():
        body = request.get_data()
        try:
            stripe.WebhookSignature.verify_header(
                body.decode(), request.headers.get("Stripe-Signature", ""), secret, 300
            )
        except stripe.SignatureVerificationError:
            return jsonify(error="bad signature"), 400
        event = json.loads(body)
        with engine.begin() as conn:
            conn.execute(
                pg_insert(raw)
                .values(id=event["id"], payload=body.decode())
                .on_conflict_do_nothing()
            )
        return jsonify(received=True)

    return app


def _post_all(client, events, secret) -> float:
    """Post every event once; returns events per second."""
    bodies = []
    for event in events:
        body = json.dumps(event)
        bodies.append((body, stripe.WebhookSignature.generate_signature_header(body, secret)))
    started = time.perf_counter()
    for body, header in bodies:
        response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": header})
        assert response.status_code == 200, response.get_data(as_text=True)
    return len(bodies) / (time.perf_counter() - started)


def run(report) -> None:
    """Make a lifecycle's events in the sandbox, then ingest them with both endpoints."""
    try:
        url = _fresh_database(BASE_URL)
    except Exception as exc:  # no PostgreSQL here: say so and stop
        print(f"  skipped: PostgreSQL is not reachable ({exc.__class__.__name__})")
        return
    from flask_migrate import upgrade

    from membership import create_app
    from membership.accounts.models import User
    from membership.accounts.services import UNUSABLE_PASSWORD
    from membership.billing import checkout
    from membership.billing.demo import seed_catalogue
    from membership.billing.models import Plan
    from membership.config import SANDBOX_WEBHOOK_SECRET, test_config
    from membership.demo import Summary
    from membership.extensions import db

    with sandbox_process() as sandbox_url:
        redis_url = _redis_or_none()
        print(f"  mail and events: {'queued in Redis for the worker' if redis_url else 'inline'}")
        app = create_app(
            test_config(
                url, STRIPE_API_BASE=sandbox_url, MAIL_SERVER=None, OUTBOX_DIR=tempfile.mkdtemp(),
                REDIS_URL=redis_url,
            )
        )  # fmt: skip
        with app.app_context():
            upgrade()
            seed_catalogue(Summary(), 0, print)
            plan = db.session.scalar(db.select(Plan).where(Plan.slug == "supporter"))
            for i in range(JOINS):
                user = User(
                    email=f"bench{i}@example.org",
                    name=f"Bench {i}",
                    password_hash=UNUSABLE_PASSWORD,
                )
                db.session.add(user)
                db.session.flush()
                checkout_url = checkout.start_checkout(user, plan, "month", None)
                session_id = checkout_url.rsplit("/", 1)[-1]
                _control(sandbox_url, f"/_sandbox/checkout/sessions/{session_id}/complete", {})
            db.session.commit()
        _control(sandbox_url, "/_sandbox/clock/advance", {"seconds": 31 * 86400})  # renewals
        events = _all_events(sandbox_url)
        print(f"  {len(events)} events from {JOINS} joins and their renewals")

        with app.app_context():
            db.engine.dispose()
        settings = dict(STRIPE_API_BASE=sandbox_url, MAIL_SERVER=None, QUEUE_PREFIX="bench-",
                        OUTBOX_DIR=tempfile.mkdtemp(), REDIS_URL=redis_url)  # fmt: skip
        figures: dict[str, float] = {}
        copies = []
        for round_ in range(ROUNDS):  # alternating, each on fresh copies; the best of each counts
            bare_url, queued_url, inline_url = (
                _copy_database(url, f"_{kind}{round_}") for kind in ("b", "q", "i")
            )
            copies += [bare_url, queued_url, inline_url]
            bare = bare_app(bare_url, SANDBOX_WEBHOOK_SECRET)
            _best(figures, "bare", _post_all(bare.test_client(), events, SANDBOX_WEBHOOK_SECRET))
            bare.extensions["engine"].dispose()
            queued = create_app(test_config(queued_url, WEBHOOK_PROCESSING="queued", **settings))
            _best(figures, "queued", _post_all(queued.test_client(), events,
                                               SANDBOX_WEBHOOK_SECRET))  # fmt: skip
            drain, state = _drain(queued)
            _best(figures, "drain", drain)
            _best(figures, "duplicates", _post_all(queued.test_client(), events,
                                                   SANDBOX_WEBHOOK_SECRET))  # fmt: skip
            with queued.app_context():
                db.engine.dispose()
            inline = create_app(test_config(inline_url, WEBHOOK_PROCESSING="inline", **settings))
            _best(figures, "inline", _post_all(inline.test_client(), events,
                                               SANDBOX_WEBHOOK_SECRET))  # fmt: skip
            if round_ == ROUNDS - 1:
                print(f"  queued, after one worker: {state}")
                print(f"  inline:                   {_state(inline)}")
            with inline.app_context():
                db.engine.dispose()
        for copy in copies:
            _drop_database(copy)
        if redis_url:
            from redis import Redis

            Redis.from_url(redis_url).flushdb()
    bare_rate = figures["bare"]
    report.figure("bare endpoint: verify + insert raw event", bare_rate, "events/s")
    report.figure("ours, queued: verify, store once, answer", figures["queued"], "events/s")
    report.figure("  one worker behind it: events run", figures["drain"], "events/s")
    report.figure("ours, the same events again (duplicates)", figures["duplicates"], "events/s")
    report.figure("ours, inline: verify, store, process in the request", figures["inline"],
                  "events/s")  # fmt: skip
    report.ratio("webhook ingestion (queued), ours / bare", figures["queued"], bare_rate, goal=0.6)
    report.ratio("duplicate ingestion, ours / bare", figures["duplicates"], bare_rate)
    report.ratio("webhook ingestion (inline), ours / bare", figures["inline"], bare_rate)


def _best(figures: dict[str, float], name: str, value: float) -> None:
    """Keep the best of the rounds."""
    figures[name] = max(figures.get(name, 0.0), value)


def _drop_database(url: str) -> None:
    """Drop a copy made by _copy_database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _copy_database(url: str, suffix: str) -> str:
    """CREATE DATABASE <name><suffix> TEMPLATE <name>; returns its URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    copy = parsed.set(database=parsed.database + suffix)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{copy.database}" TEMPLATE "{parsed.database}"'))
    admin.dispose()
    return copy.render_as_string(hide_password=False)


def _drain(app) -> tuple[float, str]:
    """One worker's pass (`flask worker --burst`) over the stored events: events/s and state."""
    from membership.billing import events as stripe_events
    from membership.extensions import db

    started = time.perf_counter()
    with app.app_context():
        counts = stripe_events.run_due()
        db.session.remove()
    rate = sum(counts.values()) / (time.perf_counter() - started)
    return rate, _state(app)


def _state(app) -> str:
    """What the events left behind: active memberships, ledger rows and total, event statuses."""
    from sqlalchemy import func, select

    from membership.billing.models import Membership, StripeEvent
    from membership.extensions import db
    from membership.ledger.models import LedgerEntry

    with app.app_context():
        active = db.session.scalar(
            select(func.count(Membership.id)).where(Membership.status == "active")
        )
        rows, total = db.session.execute(
            select(func.count(LedgerEntry.id), func.coalesce(func.sum(LedgerEntry.amount), 0))
        ).one()
        statuses = dict(
            db.session.execute(
                select(StripeEvent.status, func.count()).group_by(StripeEvent.status)
            ).all()
        )
        db.session.remove()
    return f"{active} active memberships, {rows} ledger rows ({total} cents), events {statuses}"
