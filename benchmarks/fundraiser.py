"""Fundraiser: progress API and campaign page vs bare Flask, and gift-to-progress latency.

Same gunicorn settings for every server (4 sync workers, loopback, gunicorn/load helpers shared
with benchmarks/access.py). The app runs on a temporary SQLite database (or BENCH_DATABASE_URL)
with a seeded campaign; the latency run pays through the offline Stripe sandbox and times from
posting the signed webhook to the progress API showing the gift.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.access import (
    SECONDS,
    WORKERS,
    _environment,
    _free_port,
    _load,
    _serve,
    _stop,
)
from membership.config import SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET

SLUG = "bench-together"


def _seed(env: dict[str, str]) -> bytes:
    """Migrate, add a live campaign with three outlets and 300 offline gifts; return its body."""
    import subprocess

    from benchmarks.access import BIN, ROOT

    migrated = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed: {migrated.stderr[-2000:]}")
    from membership import create_app
    from membership.accounts.models import Role, User
    from membership.config import from_environment
    from membership.extensions import db
    from membership.fundraisers import editing, totals
    from membership.fundraisers.models import Campaign, CampaignStatus, Milestone, Outlet
    from membership.timeutil import utcnow

    app = create_app(from_environment(env))
    with app.app_context():
        staff = User(email="bench-staff@example.org", name="Bench", password_hash="!",  # noqa: S106 - cannot sign in
                     role=Role.staff)  # fmt: skip
        now = utcnow()
        campaign = Campaign(
            slug=SLUG, title="Bench Together", story="Three newsrooms, **one** bar.",
            goal=5_000_000, currency="eur", starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30), status=CampaignStatus.live, min_amount=500,
            max_amount=500_000, preset_amounts=[1000, 2500, 5000], totals_version=0,
        )  # fmt: skip
        db.session.add_all([staff, campaign])
        db.session.flush()
        for position, slug in enumerate(("north", "south", "east")):
            db.session.add(Outlet(campaign_id=campaign.id, slug=slug, name=slug.title(),
                                  position=position))  # fmt: skip
        db.session.add(Milestone(campaign_id=campaign.id, amount=1_000_000, title="A reporter"))
        db.session.flush()
        db.session.expire(campaign)
        for n in range(300):
            outlet = campaign.outlets[n % 4] if n % 4 < 3 else None
            editing.record_offline_gift(campaign, 500 + 37 * n, staff, outlet=outlet,
                                         public_name=f"Donor {n}" if n % 2 else "",
                                         message="Thank you!" if n % 3 == 0 else "")  # fmt: skip
        db.session.commit()
        body = totals.snapshot(SLUG).body
        db.engine.dispose()
    return body


def _get(port: int, path: str) -> tuple[int, bytes]:
    """One GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _worker(env: dict[str, str]) -> subprocess.Popen:
    """`flask worker` in its own process group (stopped like the servers), once it runs."""
    from benchmarks.access import BIN, ROOT

    process = subprocess.Popen(  # noqa: S603 - our own flask and arguments
        [str(BIN / "flask"), "--app", "wsgi", "worker"], cwd=ROOT, env=env,
        start_new_session=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()  # "Running Stripe events (…), due mail."
    if not line.startswith("Running"):
        raise RuntimeError(f"flask worker did not start: {line!r}")
    return process


def _latency(env: dict[str, str], port: int, sandbox) -> float:
    """Seconds from posting a gift's signed webhook to the progress API showing it."""
    import stripe

    from membership import create_app
    from membership.config import SANDBOX_WEBHOOK_SECRET, from_environment
    from membership.extensions import db
    from membership.fundraisers import campaigns, giving

    app = create_app(from_environment(env))
    with app.app_context():
        campaign = campaigns.campaign_by_slug(SLUG)
        gift = giving.GiftRequest("42.17", "once", "all", "Timer", "")
        _, url = giving.start_donation(campaign, gift, None)
        db.session.commit()
        db.engine.dispose()
    session_id = url.rsplit("/", 1)[-1]
    sandbox.complete_checkout(session_id, card="4242424242424242", email="timer@example.org")
    event = next(
        e
        for e in sandbox.events()
        if e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == session_id
    )
    before = json.loads(_get(port, f"/api/v1/fundraisers/{SLUG}/progress")[1])["raised"]
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, SANDBOX_WEBHOOK_SECRET)
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/webhooks/stripe",
        body=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    status = connection.getresponse().status
    connection.close()
    if status != 200:
        raise RuntimeError(f"webhook answered {status}")
    while time.perf_counter() - started < 10:
        raised = json.loads(_get(port, f"/api/v1/fundraisers/{SLUG}/progress")[1])["raised"]
        if raised == before + 4217:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError("the gift did not show within 10 s")


def run(report) -> None:
    """Progress API and campaign page against bare Flask, then the webhook-to-bar latency."""
    import os

    from stripe_sandbox.testing import running_sandbox

    with tempfile.TemporaryDirectory(prefix="bench-fundraiser-") as tmp, running_sandbox() as sb:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ours_port, bare_port, page_port = _free_port(), _free_port(), _free_port()
        env = _environment(url, ours_port)
        env.update(
            STRIPE_API_BASE=sb.url,
            STRIPE_SECRET_KEY=SANDBOX_API_KEY,
            STRIPE_WEBHOOK_SECRET=SANDBOX_WEBHOOK_SECRET,
        )
        body = _seed(env)
        servers = []
        try:
            servers.append(_serve("wsgi:app", ours_port, env))
            servers.append(_serve("benchmarks._bare:app", bare_port,
                                  dict(env, BENCH_BODY_SIZE=str(len(body)))))  # fmt: skip
            page = _get(ours_port, f"/fundraisers/{SLUG}")[1]
            servers.append(_serve("benchmarks._bare_page:app", page_port,
                                  dict(env, BENCH_PAGE_SIZE=str(len(page)))))  # fmt: skip
            headers = {"User-Agent": "membership-bench", "Accept": "application/json"}
            api = f"/api/v1/fundraisers/{SLUG}/progress"
            _load(ours_port, [api], headers)  # warm up
            best = {"api": 0.0, "bare": 0.0, "page": 0.0, "bare_page": 0.0}
            for _ in range(2):
                best["bare"] = max(best["bare"], _load(bare_port, ["/bare"], headers))
                best["api"] = max(best["api"], _load(ours_port, [api], headers))
            # What the page's script asks: the same figures with Babel's strings for its language.
            _load(ours_port, [api + "?lang=ka"], headers)  # warm up: the variant is built once
            best["api_lang"] = _load(ours_port, [api + "?lang=ka"], headers)
            best["bare_page"] = _load(page_port, ["/bare-page"], {})
            best["page"] = _load(ours_port, [f"/fundraisers/{SLUG}"], {})
            # The same page with the micro-cache off: every view through Flask (a cache miss).
            uncached_port = _free_port()
            servers.append(_serve("wsgi:app", uncached_port,
                                  dict(env, FUNDRAISER_PAGE_FRESHNESS="0")))  # fmt: skip
            best["uncached"] = _load(uncached_port, [f"/fundraisers/{SLUG}"], {})
            latency = _latency(env, ours_port, sb)
            # Production's way: the webhook stores the event, `flask worker` runs it.
            queued_env = dict(env, WEBHOOK_PROCESSING="queued")
            queued_port = _free_port()
            servers.append(_serve("wsgi:app", queued_port, queued_env))
            servers.append(_worker(queued_env))
            queued_latency = _latency(queued_env, queued_port, sb)
        finally:
            for server in servers:
                _stop(server)
    report.figure(f"bare Flask JSON, {len(body)} bytes ({WORKERS} sync workers)", best["bare"],
                  "req/s")  # fmt: skip
    report.figure("/api/v1/fundraisers/<slug>/progress", best["api"], "req/s")
    report.ratio("progress API / bare Flask", best["api"], best["bare"], goal=0.9)
    report.figure("  … with ?lang=ka (display strings, as the page's script asks it)",
                  best["api_lang"], "req/s")  # fmt: skip
    report.ratio("  progress API ?lang= / bare Flask", best["api_lang"], best["bare"], goal=0.9)
    report.figure(f"bare template render, {len(page)} bytes", best["bare_page"], "req/s")
    report.figure("/fundraisers/<slug> campaign page", best["page"], "req/s")
    report.ratio("campaign page / bare template", best["page"], best["bare_page"], goal=0.7)
    report.figure("  the same page, micro-cache off (every view through Flask)", best["uncached"],
                  "req/s")  # fmt: skip
    report.ratio("  uncached campaign page / bare template", best["uncached"], best["bare_page"])
    report.figure("webhook posted → gift in the progress API (inline)", latency * 1000, "ms")
    report.figure("  … queued, one `flask worker` polling every 0.2 s", queued_latency * 1000, "ms")
    report.figure(f"(load: {SECONDS:.0f} s per run)", SECONDS, "s")
