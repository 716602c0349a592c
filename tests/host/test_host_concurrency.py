"""Gifts, refunds and disputes whose webhooks arrive shuffled and duplicated from several
threads at once still keep each fee once and the books exact (PostgreSQL: real concurrency)."""

from __future__ import annotations

import random
import threading

import pytest

from membership.extensions import db
from membership.fundraisers.models import Campaign
from membership.host import accounts
from tests.fundraisers.test_fundraiser_concurrency import _signed_post
from tests.host.conftest import DE_CARD, US_CARD, charge_of, fee_rows, pay_gift, refund
from tests.host.test_host_identity import stripe_truth

GIFTS = 40
THREADS = 8


@pytest.mark.postgres_only  # SQLite serialises writers; concurrency is exercised on PostgreSQL
def test_concurrent_duplicated_events_keep_every_fee_once(app, campaign, stripe_world):
    rng = random.Random(20261204)
    sandbox = stripe_world.sandbox
    for n in range(GIFTS):
        outlet = rng.choice(["all", "all", "mountain-post", "river-daily", "valley-voice"])
        intent = pay_gift(app, stripe_world, campaign, f"{rng.randint(500, 9000) / 100:.2f}",
                          outlet=outlet, card=rng.choice([US_CARD, DE_CARD]))  # fmt: skip
        roll = rng.random()
        if roll < 0.25:
            refund(app, intent, None if roll < 0.1 else 100, key=f"conc-{n}")
        elif roll < 0.35:
            dispute = sandbox.dispute_charge(charge_of(stripe_world, intent)["id"])
            sandbox.close_dispute(dispute["id"], rng.choice(["won", "lost"]))
    events = stripe_world.new_events()
    batch = events * 2 + rng.sample(events, len(events) // 2)
    rng.shuffle(batch)
    failures: list[str] = []

    def deliver(chunk):
        client = app.test_client()
        for event in chunk:
            response = _signed_post(client, event)
            if response.status_code != 200:  # Stripe would retry: so do we, once
                response = _signed_post(client, event)
            if response.status_code != 200:
                failures.append(f"{event['type']}: {response.status_code}")

    threads = [threading.Thread(target=deliver, args=(batch[i::THREADS],)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:5]
    gross, fees = stripe_truth(sandbox)
    with app.app_context():
        books = accounts.accounts(db.session.get(Campaign, campaign))
    assert sum(a.raised for a in books) == gross
    assert sum(a.fees for a in books) == fees
    rows = fee_rows(app)
    assert len(rows) == len({r[0] for r in rows})  # one row per balance transaction
    for a in books:
        assert a.balance + a.granted + a.fees + a.host_fee == a.raised
