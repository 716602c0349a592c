"""200 gifts whose webhooks arrive shuffled and duplicated from several threads end at the exact
sum, to the minor unit, in total and per outlet (PostgreSQL: real row locks and concurrency)."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
import stripe
from sqlalchemy import select

from membership.config import SANDBOX_WEBHOOK_SECRET
from membership.extensions import db
from membership.fundraisers import giving
from membership.fundraisers.models import Campaign
from tests.fundraisers.conftest import OUTLETS, ledger_sum, progress

GIFTS = 200
THREADS = 8


def _signed_post(client, event: dict):
    """POST one event as Stripe signs it."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        body, SANDBOX_WEBHOOK_SECRET, timestamp=int(time.time())
    )
    return client.post(
        "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


@pytest.mark.postgres_only  # SQLite serialises writers; concurrency is exercised on PostgreSQL
def test_concurrent_shuffled_duplicated_webhooks_end_at_the_exact_sum(app, campaign, stripe_world):
    rng = random.Random(20261128)
    expected_total, expected = 0, dict.fromkeys(OUTLETS, 0)
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        for n in range(GIFTS):
            cents = rng.randint(500, 20_000)
            outlet = rng.choice(["all", "all", *OUTLETS])
            gift = giving.GiftRequest(f"{cents / 100:.2f}", "once", outlet, f"Donor {n}", "")
            _, url = giving.start_donation(c, gift, None)
            db.session.commit()
            stripe_world.pay(url, email=f"donor{n}@example.org")
            expected_total += cents
            if outlet == "all":
                for i, slug in enumerate(OUTLETS):
                    expected[slug] += cents // 3 + (1 if i < cents % 3 else 0)
            else:
                expected[outlet] += cents
    events = stripe_world.new_events()
    batch = events * 2 + rng.sample(events, len(events) // 2)  # every event twice, half thrice
    rng.shuffle(batch)
    chunks = [batch[i::THREADS] for i in range(THREADS)]
    failures: list[str] = []

    def deliver(chunk):
        client = app.test_client()
        for event in chunk:
            response = _signed_post(client, event)
            if response.status_code != 200:  # Stripe would retry: so do we, once
                response = _signed_post(client, event)
            if response.status_code != 200:
                failures.append(f"{event['type']}: {response.status_code}")

    threads = [threading.Thread(target=deliver, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:5]

    figures = progress(app.test_client())
    assert figures["raised"] == expected_total == ledger_sum(app, campaign)
    assert {o["slug"]: o["raised"] for o in figures["outlets"]} == expected
    assert figures["backers"] == GIFTS
    with app.app_context():
        from membership.mail import MailJob

        receipts = db.session.scalars(
            select(MailJob.dedupe_key).where(MailJob.template == "donation_receipt")
        ).all()
        assert len(receipts) == len(set(receipts)) == GIFTS
