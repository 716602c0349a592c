"""A refund follows its final state in the ledger: pending and succeeded refunds take money
back; a failed or canceled one ends netted by a counter-entry, whatever the order or number of
the events Stripe sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from membership.accounts.models import Role
from membership.admin import services as staff
from membership.extensions import db
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from tests.billing.conftest import join
from tests.conftest import Actions
from tests.factories import make_user

PENDING_CARD = "4000000000007726"  # the sandbox keeps its refunds pending


def rows(app) -> set[tuple[str, int, str]]:
    """The ledger as (kind, amount, Stripe object) rows."""
    with app.app_context():
        return {
            (e.kind.value, e.amount, e.stripe_object_id)
            for e in db.session.scalars(select(LedgerEntry))
        }


def total(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))))


def sdk(stripe_world) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_sandbox", base_addresses={"api": stripe_world.sandbox.url}, max_network_retries=0
    )


def join_and_refund(auth, stripe_world, deliver_payment: bool = True):
    """A reader joins (card whose refunds stay pending), 2.00 of the 5.00 is refunded.

    Returns the payment's events, the refund's events and the refund id."""
    stripe_world.pay(join(auth), card=PENDING_CARD)
    payment = stripe_world.new_events()
    if deliver_payment:
        stripe_world.deliver(payment)
    else:
        stripe_world.delivered.update(e["id"] for e in payment)
    intent = next(e for e in payment if e["type"] == "payment_intent.succeeded")
    refund = sdk(stripe_world).v1.refunds.create(
        params={"payment_intent": intent["data"]["object"]["id"], "amount": 200}
    )
    assert refund.status == "pending"
    return payment, stripe_world.new_events(), refund.id


def invoice_id(payment: list[dict]) -> str:
    return next(e for e in payment if e["type"] == "invoice.paid")["data"]["object"]["id"]


def test_a_pending_refund_counts_and_stays_when_it_succeeds(app, reader, auth, stripe_world):
    payment, created, refund_id = join_and_refund(auth, stripe_world)
    stripe_world.deliver(created)
    assert total(app) == 300
    stripe_world.sandbox.move_refund(refund_id, "succeeded")
    stripe_world.deliver()
    assert rows(app) == {("membership", 500, invoice_id(payment)), ("refund", -200, refund_id)}


@pytest.mark.parametrize("final", ["failed", "canceled"])
def test_a_pending_refund_that_fails_or_is_canceled_gives_the_money_back(
    app, reader, auth, stripe_world, final
):
    payment, created, refund_id = join_and_refund(auth, stripe_world)
    stripe_world.deliver(created)
    assert total(app) == 300
    stripe_world.sandbox.move_refund(refund_id, final)
    updates = stripe_world.new_events()
    assert {e["type"] for e in updates} >= {"refund.updated", "charge.refund.updated"}
    stripe_world.deliver(updates)
    assert total(app) == 500
    assert rows(app) == {
        ("membership", 500, invoice_id(payment)),
        ("refund", -200, refund_id),
        ("refund_failed", 200, refund_id + ledger.UNDONE_SUFFIX),
    }
    stripe_world.deliver(created + updates + created)  # duplicates change nothing
    assert total(app) == 500 and len(rows(app)) == 3


def test_a_refund_that_succeeded_and_later_failed_gives_the_money_back(
    app, reader, auth, stripe_world
):
    stripe_world.pay(join(auth), card="4000000000005126")  # refunds fail a day later
    stripe_world.deliver()
    intent = stripe_world.sandbox.events("payment_intent.succeeded")[0]["data"]["object"]["id"]
    sdk(stripe_world).v1.refunds.create(params={"payment_intent": intent})
    stripe_world.deliver()
    assert total(app) == 0
    stripe_world.advance(days=1.1)
    stripe_world.deliver()
    assert total(app) == 500


ORDERS = {
    # (deliver the creation events while the refund is pending?, what is delivered once failed)
    "as they happen": (True, lambda created, failed: failed),
    "failure first, newest first": (False, lambda created, failed: [*reversed(failed + created)]),
    "duplicated and interleaved": (True, lambda created, failed: failed[:1] + created + failed * 2),
    "only the failure's events": (False, lambda created, failed: failed),
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("payment_first", [True, False], ids=["payment first", "payment last"])
def test_any_order_or_duplication_of_a_refunds_events_ends_in_the_same_ledger(
    app, reader, auth, stripe_world, order, payment_first
):
    payment, created, refund_id = join_and_refund(auth, stripe_world, payment_first)
    while_pending, once_failed = ORDERS[order]
    if while_pending:
        stripe_world.deliver(created)
    stripe_world.sandbox.move_refund(refund_id, "failed")
    stripe_world.deliver(once_failed(created, stripe_world.new_events()))
    if not payment_first:
        stripe_world.deliver(payment)
    assert rows(app) == {
        ("membership", 500, invoice_id(payment)),
        ("refund", -200, refund_id),
        ("refund_failed", 200, refund_id + ledger.UNDONE_SUFFIX),
    }
    assert total(app) == 500


# --- the ledger alone: any sequence of observed states ---------------------------------------

PATHS = [
    ["pending", "succeeded"],
    ["pending", "failed"],
    ["pending", "canceled"],
    ["requires_action", "canceled"],
    ["succeeded", "failed"],
    ["succeeded"],
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    seen=st.lists(st.integers(min_value=0, max_value=5), max_size=6),
    amount=st.integers(min_value=1, max_value=5000),
)
def test_a_refund_ends_as_the_same_rows_whatever_states_the_events_showed(
    app_ctx, path, seen, amount
):
    """Handlers re-read the refund, so each event shows one state of its path, in any order and
    any number of times; once the final state has been seen, the rows are always the same."""
    ledger.record(EntryKind.gift, 10_000, "eur", "pi_h", datetime(2026, 1, 1, tzinfo=UTC),
                  payment_intent_id="pi_h")  # fmt: skip
    refund_id = "re_h"
    observed = [path[i % len(path)] for i in seen] + [path[-1]]
    for status in observed:
        ledger.record_refund(
            ledger.Reversal(
                refund_id, amount, "eur", status, datetime(2026, 1, 2, tzinfo=UTC), "pi_h"
            )
        )
    found = {
        (e.kind.value, e.amount)
        for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.stripe_object_id.startswith(refund_id))
        )
    }
    if path[-1] in ("failed", "canceled"):
        assert found == {("refund", -amount), ("refund_failed", amount)}
    else:
        assert found == {("refund", -amount)}
    db.session.rollback()  # the next example starts from an empty ledger


def test_staff_see_a_failed_refund_netted_and_can_refund_the_payment_again(
    app, reader, auth, stripe_world, mailbox
):
    _, created, refund_id = join_and_refund(auth, stripe_world)
    stripe_world.deliver(created)
    stripe_world.sandbox.move_refund(refund_id, "failed")
    stripe_world.deliver()
    with app.app_context():
        make_user(email="boss@example.org", role=Role.admin)
        entries = {e.kind.value: e for e in db.session.scalars(select(LedgerEntry))}
        assert staff.refundable(entries["membership"]) == 500  # the failed 2.00 can go again
        assert staff.refundable(entries["refund_failed"]) == 0
        counter_id = entries["refund_failed"].id
        payment_id = entries["membership"].id
    boss = Actions(app.test_client(), mailbox)
    boss.login(email="boss@example.org")
    page = boss.client.get(f"/admin/members/{reader}").get_data(as_text=True)
    assert f"/payments/{payment_id}/refund" in page
    assert f"/payments/{counter_id}/refund" not in page
    assert "(refunded" not in page  # nothing is refunded for good
