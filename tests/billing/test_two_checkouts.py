"""Two Checkouts open at once (the monthly tab and the yearly tab): one membership, one charge."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

import stripe_sandbox.errors as sandbox_errors
from membership.audit import AuditEntry
from membership.billing.models import Membership
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.mail import MailJob
from tests.billing.conftest import join

SECOND = "Your second membership was cancelled and refunded"


def memberships(app, user_id):
    with app.app_context():
        return [
            (m.interval, m.status)
            for m in db.session.scalars(
                select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)
            )
        ]


def money(app):
    with app.app_context():
        return sorted((e.kind.value, e.amount) for e in db.session.scalars(select(LedgerEntry)))


def duplicate_audits(app):
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.details).where(
                    AuditEntry.action == "membership.duplicate_cancelled"
                )
            )
        )


def test_paying_one_tab_expires_the_other_tabs_checkout(app, reader, auth, stripe_world):
    monthly, yearly = join(auth, interval="month"), join(auth, interval="year")
    stripe_world.pay(monthly)
    stripe_world.deliver()

    with pytest.raises(sandbox_errors.StripeError, match="expired"):
        stripe_world.pay(yearly)
    assert memberships(app, reader) == [("month", "active")]
    assert money(app) == [("membership", 500)]


def test_both_tabs_paid_before_any_webhook_keep_one_membership_and_refund_the_other(
    app, reader, auth, stripe_world, mailbox
):
    monthly, yearly = join(auth, interval="month"), join(auth, interval="year")
    stripe_world.pay(monthly)
    stripe_world.pay(yearly)  # paid in the other tab before Stripe's webhooks arrived
    stripe_world.deliver()
    stripe_world.deliver()  # the refund's own events

    assert memberships(app, reader) == [("month", "active"), ("year", "canceled")]
    assert money(app) == [("membership", 500), ("membership", 5000), ("refund", -5000)]
    yearly_sub = stripe_world.sandbox.events("customer.subscription.deleted")[0]["data"]["object"]
    assert yearly_sub["cancellation_details"]["comment"].startswith("duplicate of sub_")
    subjects = [m["Subject"] for m in mailbox.to("reader@example.org")]
    assert subjects.count(SECOND) == 1
    assert "Your membership has ended" not in subjects
    mail = next(m for m in mailbox.to("reader@example.org") if m["Subject"] == SECOND)
    text = mailbox.body(mail)
    assert "(Supporter, €50.00 a year)" in text and "(Supporter, €5.00 a month)" in text
    assert "refunded €50.00" in text
    (audit,) = duplicate_audits(app)
    assert audit["refunded"] == 5000 and audit["kept"].startswith("sub_")


def test_the_outcome_is_the_same_in_any_order_and_with_retries(
    app, reader, auth, stripe_world, mailbox
):
    monthly, yearly = join(auth, interval="month"), join(auth, interval="year")
    stripe_world.pay(monthly)
    stripe_world.pay(yearly)
    events = stripe_world.new_events()
    shuffled = events + events[: len(events) // 2]
    random.Random(11).shuffle(shuffled)
    stripe_world.deliver(list(reversed(events)))  # the yearly tab's events first
    stripe_world.deliver(shuffled)  # then every event again, in another order
    stripe_world.deliver()  # the refund's own events

    assert memberships(app, reader) == [("year", "canceled"), ("month", "active")]
    assert money(app) == [("membership", 500), ("membership", 5000), ("refund", -5000)]
    assert len(duplicate_audits(app)) == 1
    with app.app_context():
        keys = [j.dedupe_key for j in db.session.scalars(select(MailJob)) if j.dedupe_key]
    assert sum(k.startswith("duplicate-") for k in keys) == 1
    assert not any(k.startswith("welcome-") and "year" in k for k in keys)
    refunds = stripe_world.sandbox.events("refund.created")
    assert len(refunds) == 1  # Stripe was asked once, however often the events came


def test_a_second_subscription_made_later_is_cancelled_and_refunded(
    app, reader, auth, stripe_world
):
    stripe_world.pay(join(auth, "supporter", "month"))
    stripe_world.deliver()
    # Staff (or an old integration) start a second subscription for the same customer.
    from tests.billing.test_lifecycle import sdk

    with app.app_context():
        first = db.session.scalar(select(Membership))
        customer, price = first.stripe_customer_id, first.stripe_price_id
    sdk(stripe_world).v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price}],
                "metadata": {"kind": "membership", "user_id": str(reader), "plan": "supporter"}}
    )  # fmt: skip
    stripe_world.deliver()
    stripe_world.deliver()

    assert memberships(app, reader) == [("month", "active"), ("month", "canceled")]
    assert money(app) == [("membership", 500), ("membership", 500), ("refund", -500)]


def test_any_order_and_repetition_of_two_paid_checkouts_gives_the_same_state(
    app, reader, auth, stripe_world
):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from membership.perks.models import PerkGrant
    from tests.billing.test_event_order import SLOW_EXAMPLES, forget_deliveries

    def final_state(app):
        """The memberships, ledger rows, perk grants and mails a reader and staff would see."""
        with app.app_context():
            rows = [
                (m.stripe_subscription_id, m.status, m.amount, m.ended_at)
                for m in db.session.scalars(select(Membership).order_by(Membership.started_at))
            ]
            entries = sorted(
                (e.kind.value, e.amount, e.stripe_object_id)
                for e in db.session.scalars(select(LedgerEntry))
            )
            grants = sorted(
                (g.perk_id, g.starts_at.isoformat(), str(g.ends_at))
                for g in db.session.scalars(select(PerkGrant))
            )
            mails = sorted(j.dedupe_key for j in db.session.scalars(select(MailJob)))
        return sorted(rows, key=lambda r: r[0]), entries, grants, mails

    stripe_world.pay(join(auth, interval="month"))
    stripe_world.pay(join(auth, interval="year"))
    stripe_world.deliver()
    stripe_world.deliver()  # the refund's own events
    events = stripe_world.sandbox.events()
    expected = final_state(app)
    assert sorted(status for _, status, *_ in expected[0]) == ["active", "canceled"]

    @settings(max_examples=6, **SLOW_EXAMPLES)
    @given(
        order=st.permutations(range(len(events))),
        repeats=st.lists(st.integers(min_value=0, max_value=len(events) - 1), max_size=10),
    )
    def check(order, repeats):
        forget_deliveries(app)
        delivery = [events[i] for i in order] + [events[order[i]] for i in repeats]
        for event in delivery:
            assert stripe_world.post(event).status_code == 200
        assert final_state(app) == expected
        assert len(duplicate_audits(app)) == 1

    check()
    assert len(stripe_world.sandbox.events("refund.created")) == 1
