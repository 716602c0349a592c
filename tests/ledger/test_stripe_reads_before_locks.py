"""No Stripe call waits under a row lock: when a refund arrives before its payment, the handler
reads the payment's origin from Stripe first, and only then locks and writes the campaign,
donation, gift or membership rows (and the ledger)."""

from __future__ import annotations

import re

import pytest
import stripe
from sqlalchemy import event, func, select

from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from tests.billing.conftest import join
from tests.fundraisers.conftest import give, make_campaign

LOCKING = re.compile(
    r"^\s*(INSERT INTO|UPDATE)\s+\"?(donations|campaigns|ledger_entries|memberships|"
    r"gift_memberships|perk_grants|payment_recoveries|recovery_notices)\b|FOR UPDATE",
    re.IGNORECASE,
)


class Timeline:
    """What each transaction did, in order: row-locking SQL and Stripe calls. (PostgreSQL shows
    every lock, SELECT … FOR UPDATE included; SQLite, which has no row locks, only the writes.)"""

    def __init__(self) -> None:
        self.watching = False  # only webhook deliveries are judged
        self.locked = False
        self.violations: list[str] = []

    def sql(self, conn, cursor, statement, *args) -> None:
        if LOCKING.search(statement):
            self.locked = True

    def end(self, conn) -> None:
        self.locked = False

    def stripe(self, what: str) -> None:
        if self.watching and self.locked:
            self.violations.append(what)


@pytest.fixture
def timeline(app, monkeypatch):
    found = Timeline()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", found.sql)
    event.listen(engine, "commit", found.end)
    event.listen(engine, "rollback", found.end)
    for name in ("_get", "_call"):
        original = getattr(gateway, name)

        def spy(*args, _original=original, **kwargs):
            found.stripe(str(args[0]))
            return _original(*args, **kwargs)

        monkeypatch.setattr(gateway, name, spy)
    yield found
    event.remove(engine, "before_cursor_execute", found.sql)
    event.remove(engine, "commit", found.end)
    event.remove(engine, "rollback", found.end)


def sdk(stripe_world) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}, max_network_retries=0
    )


def checkout(app, auth, kind: str) -> str:
    """Start a Checkout of one kind of money the app sells; returns its URL."""
    if kind == "membership":
        return join(auth)
    with app.app_context():
        make_campaign()
    if kind == "one-time gift":
        return give(auth, amount="25").headers["Location"]
    if kind == "monthly gift":
        return give(auth, amount="10", frequency="monthly").headers["Location"]
    response = auth.post(
        "/gift", {"plan": "supporter", "months": "3", "recipient_email": "f@example.org"}
    )
    return response.headers["Location"]


@pytest.mark.parametrize("kind", ["membership", "one-time gift", "monthly gift", "gift membership"])
def test_a_refund_before_its_payment_reads_stripe_before_locking_rows(
    app, reader, auth, stripe_world, timeline, kind
):
    stripe_world.pay(checkout(app, auth, kind))
    payment = stripe_world.new_events()
    stripe_world.delivered.update(e["id"] for e in payment)  # the payment's events are late
    intent = next(e for e in payment if e["type"] == "payment_intent.succeeded")
    sdk(stripe_world).v1.refunds.create(
        params={"payment_intent": intent["data"]["object"]["id"], "amount": 100}
    )
    timeline.watching = True
    stripe_world.deliver()  # the refund's events first
    stripe_world.deliver(payment)
    with app.app_context():
        payments = db.session.scalar(select(func.count()).where(LedgerEntry.amount > 0))
        refunds = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.amount < 0))  # fmt: skip
    assert (payments, refunds) == (1, -100)  # the payment was recorded from the refund
    assert timeline.violations == []


@pytest.mark.parametrize("kind", ["one-time gift", "monthly gift", "gift membership"])
def test_a_paid_gift_reads_stripe_before_locking_rows(
    app, reader, auth, stripe_world, timeline, kind
):
    stripe_world.pay(checkout(app, auth, kind))
    timeline.watching = True
    events = stripe_world.new_events()
    stripe_world.deliver(list(reversed(events)))  # Checkout's completion last, then first
    stripe_world.deliver(events)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(LedgerEntry.amount > 0)) == 1
    assert timeline.violations == []


def test_a_failed_renewal_and_its_recovery_read_stripe_before_locking_rows(
    app, reader, auth, stripe_world, timeline
):
    stripe_world.pay(join(auth), card="4000000000000341")  # every renewal fails
    stripe_world.deliver()
    stripe_world.advance(days=31)
    failure = stripe_world.new_events()
    stripe_world.delivered.update(e["id"] for e in failure)
    engine = stripe_world.sandbox.engine
    with engine.operation():  # the member enters a working card in the portal
        customer = next(o for o in engine.objects.values() if o["object"] == "customer")
        engine.update_card(customer, "4242424242424242")
    timeline.watching = True
    stripe_world.deliver(failure)
    stripe_world.deliver()  # the recovery's events
    stripe_world.deliver(list(reversed(failure)))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(LedgerEntry.amount > 0)) == 2
    assert timeline.violations == []
