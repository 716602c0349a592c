"""Property: any order and repetition of a failed renewal's events (and of its recovery's)
ends in the same recovery, and each payment-recovery mail goes out at most once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from membership.audit import AuditEntry
from membership.billing import dunning
from membership.billing.models import Membership, PaymentRecovery, RecoveryNotice, StripeEvent
from membership.extensions import db
from membership.ledger.models import LedgerEntry, LedgerFee
from membership.mail import MailJob
from membership.perks.models import PerkGrant
from membership.timeutil import from_unix
from tests.billing.conftest import join
from tests.billing.test_event_order import SLOW_EXAMPLES

FAILS_LATER = "4000000000000341"


def forget(app):
    """Undo what the events did, keeping the reader and the catalogue."""
    with app.app_context():
        for model in (RecoveryNotice, PaymentRecovery, PerkGrant, LedgerFee, LedgerEntry,
                      Membership, StripeEvent, MailJob, AuditEntry):  # fmt: skip
            db.session.execute(delete(model))
        db.session.commit()


def state(app):
    """The recovery as staff see it, and the payment-recovery mails queued."""
    with app.app_context():
        recoveries = [
            (r.stripe_invoice_id, r.status, r.amount_due, r.failed_at, r.grace_ends_at,
             r.recovered_at, r.amount_recovered, r.ended_at)
            for r in db.session.scalars(select(PaymentRecovery))
        ]  # fmt: skip
        mails = sorted(
            j.dedupe_key
            for j in db.session.scalars(select(MailJob))
            if (j.dedupe_key or "").startswith("dunning-")
        )
    return recoveries, mails


def failing_and_recovered(app, auth, stripe_world):
    """Join with a card that fails renewals; the renewal fails (delivered: the state then);
    the card is replaced in the portal and the invoice paid (delivered: the state then).
    Returns both lists of events and both states."""
    stripe_world.pay(join(auth), card=FAILS_LATER)
    stripe_world.deliver()
    stripe_world.advance(days=31)
    failure = stripe_world.new_events()
    forget(app)
    stripe_world.deliver(failure)
    failed = state(app)
    engine = stripe_world.sandbox.engine
    with engine.operation():
        customer = next(o for o in engine.objects.values() if o["object"] == "customer")
        assert engine.update_card(customer, "4242424242424242") == []
    recovery = stripe_world.new_events()
    stripe_world.deliver(recovery)
    return failure, recovery, failed, state(app)


def send_due_at(app, when):
    with app.app_context():
        dunning.send_due(now=when)
        db.session.remove()


def test_any_order_of_a_failure_and_its_recovery_ends_the_same(app, reader, auth, stripe_world):
    failure, recovery, failed_state, expected = failing_and_recovered(app, auth, stripe_world)
    ((invoice_id, status, *_rest),) = failed_state[0]
    assert status == "failing" and failed_state[1] == [f"dunning-{invoice_id}-failed"]
    assert expected[0][0][1] == "recovered" and expected[0][0][6] == 500
    failed_at = expected[0][0][3]

    events = failure + recovery

    @settings(max_examples=15, **SLOW_EXAMPLES)
    @given(
        order=st.permutations(range(len(events))),
        repeats=st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=12),
        cron=st.sets(st.integers(min_value=0, max_value=len(events) + 11), max_size=4),
    )
    def check(order, repeats, cron):
        forget(app)
        delivery = [events[i] for i in order] + [events[order[i]] for i in repeats]
        for index, event in enumerate(delivery):
            assert stripe_world.post(event).status_code == 200
            if index in cron:  # cron's send-due somewhere in between, after the reminder's time
                send_due_at(app, failed_at + timedelta(days=4))
        send_due_at(app, failed_at + timedelta(days=6, hours=1))
        recoveries, mails = state(app)
        assert recoveries == expected[0]
        # The failure's mail only when it was seen before the payment; never any later notice
        # (the invoice is paid: Stripe, read again before each, says so).
        assert set(mails) <= {f"dunning-{invoice_id}-failed"}

    check()


def test_any_order_and_repetition_of_a_failure_sends_the_same_mails(
    app, reader, auth, stripe_world
):
    stripe_world.pay(join(auth), card=FAILS_LATER)
    stripe_world.deliver()
    stripe_world.advance(days=31)
    events = stripe_world.new_events()
    forget(app)
    stripe_world.deliver(events)
    expected = state(app)
    failed_at = expected[0][0][3]
    send_due_at(app, failed_at + timedelta(days=3, minutes=1))
    expected_after = state(app)
    assert len(expected_after[1]) == 2  # the failure and the reminder

    @settings(max_examples=12, **SLOW_EXAMPLES)
    @given(
        order=st.permutations(range(len(events))),
        repeats=st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=12),
    )
    def check(order, repeats):
        forget(app)
        for event in [events[i] for i in order] + [events[order[i]] for i in repeats]:
            assert stripe_world.post(event).status_code == 200
        assert state(app) == expected
        send_due_at(app, failed_at + timedelta(days=3, minutes=1))
        send_due_at(app, failed_at + timedelta(days=3, minutes=2))
        assert state(app) == expected_after

    check()
    assert from_unix(stripe_world.sandbox.now()) >= failed_at
