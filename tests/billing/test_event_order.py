"""Property: any order and any repetition of a membership's events ends in the same state."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from membership.audit import AuditEntry
from membership.billing import events as events_module
from membership.billing.models import CancellationRequest, Membership, StripeEvent
from membership.extensions import db
from membership.ledger.models import LedgerEntry, LedgerFee
from membership.mail import MailJob
from membership.perks.models import PerkGrant
from tests.billing.conftest import join

# Each example replays a year of events through the app: no deadline, and fixtures shared by
# the examples on purpose (forget_deliveries resets what they change).
SLOW_EXAMPLES = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


def final_state(app):
    """What a reader and staff would see: the membership, the ledger, the perk grants."""
    with app.app_context():
        memberships = [
            (m.stripe_subscription_id, m.status, m.amount, m.current_period_end,
             m.cancel_at_period_end, m.past_due_since)
            for m in db.session.scalars(select(Membership))
        ]  # fmt: skip
        entries = sorted(
            (e.kind.value, e.amount, e.stripe_object_id)
            for e in db.session.scalars(select(LedgerEntry))
        )
        grants = sorted(
            (g.perk_id, g.starts_at, g.ends_at, g.revoked_at)
            for g in db.session.scalars(select(PerkGrant))
        )
        mails = sorted(j.dedupe_key for j in db.session.scalars(select(MailJob)) if j.dedupe_key)
    return memberships, entries, grants, mails


def forget_deliveries(app):
    """Undo everything the events did, keeping the reader and the catalogue."""
    with app.app_context():
        models = (PerkGrant, LedgerFee, LedgerEntry, CancellationRequest, Membership,
                  StripeEvent, MailJob, AuditEntry)  # fmt: skip
        for model in models:
            db.session.execute(delete(model))
        db.session.commit()


def a_year_of_events(app, auth, stripe_world):
    """Join, renew once, cancel at the period's end, and let it end: every event Stripe sent,
    and the state they lead to when delivered once, in order (inline)."""
    stripe_world.pay(join(auth))
    stripe_world.advance(days=31)
    events = stripe_world.new_events()
    assert len(events) > 10
    stripe_world.deliver(events)
    with app.app_context():
        membership_id = db.session.scalar(select(Membership.id))
    auth.post(f"/account/membership/{membership_id}/cancel", form_page="/account")
    stripe_world.advance(days=40)
    events = events + stripe_world.new_events()
    forget_deliveries(app)
    stripe_world.deliver(events)
    expected = final_state(app)
    assert expected[0][0][1] == "canceled"
    assert [kind for kind, _, _ in expected[1]] == ["membership", "membership"]
    return events, expected


def test_any_order_and_repetition_gives_the_same_state(app, reader, auth, stripe_world):
    events, expected = a_year_of_events(app, auth, stripe_world)

    @settings(max_examples=12, **SLOW_EXAMPLES)
    @given(
        order=st.permutations(range(len(events))),
        repeats=st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=15),
    )
    def check(order, repeats):
        forget_deliveries(app)
        delivery = [events[i] for i in order] + [events[order[i]] for i in repeats]
        for event in delivery:
            assert stripe_world.post(event).status_code == 200
        assert final_state(app) == expected

    check()


def test_queued_any_order_repetition_and_worker_timing_gives_the_same_state(
    app, reader, auth, stripe_world
):
    events, expected = a_year_of_events(app, auth, stripe_world)
    app.config["WEBHOOK_PROCESSING"] = "queued"

    @settings(max_examples=8, **SLOW_EXAMPLES)
    @given(
        order=st.permutations(range(len(events))),
        repeats=st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=10),
        passes=st.sets(st.integers(min_value=0, max_value=len(events) + 9), max_size=6),
    )
    def check(order, repeats, passes):
        forget_deliveries(app)
        delivery = [events[i] for i in order] + [events[order[i]] for i in repeats]
        statuses = set()
        for index, event in enumerate(delivery):
            response = stripe_world.post(event)
            assert response.status_code == 200
            statuses.add(response.get_json()["status"])
            if index in passes:  # the worker catches up somewhere in the middle
                run_worker(app)
        run_worker(app)
        assert "queued" in statuses and "processed" not in statuses  # the worker did the work
        assert final_state(app) == expected

    check()


def run_worker(app):
    """One pass of `flask worker`: every due event."""
    with app.app_context():
        counts = events_module.run_due()
        db.session.remove()
    assert "failed" not in counts
