"""Pauses made in Stripe's dashboard (no metadata of ours), the kinds of pause that keep the
perks, and an old pause note that must not date a new pause: Stripe's pause_collection as
sync_subscription mirrors it."""

from __future__ import annotations

from datetime import timedelta

from membership.billing.stripe_objects import Subscription
from membership.timeutil import from_unix
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import PERKS, perks_at, sdk


def joined(app, reader, auth, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    return membership_of(app, reader)


def test_a_dashboard_pause_that_voids_suspends_the_perks_from_the_end_of_the_paid_period(
    app, reader, auth, stripe_world
):
    m = joined(app, reader, auth, stripe_world)
    sdk(stripe_world).v1.subscriptions.update(
        m.stripe_subscription_id, params={"pause_collection": {"behavior": "void"}}
    )
    stripe_world.deliver()
    paused = membership_of(app, reader)
    assert (paused.pause_behavior, paused.resumes_at) == ("void", None)
    assert paused.paused_from == m.current_period_end
    assert perks_at(app, reader, m.current_period_end - timedelta(minutes=1)) == PERKS
    assert perks_at(app, reader, m.current_period_end + timedelta(minutes=1)) == []
    stripe_world.advance(days=70)  # two voided renewals: the pause still began at the first
    stripe_world.deliver()
    assert membership_of(app, reader).paused_from == m.current_period_end
    assert perks_at(app, reader, from_unix(stripe_world.sandbox.now())) == []


def test_a_pause_that_keeps_invoicing_keeps_the_perks(app, reader, auth, stripe_world):
    m = joined(app, reader, auth, stripe_world)
    sdk(stripe_world).v1.subscriptions.update(
        m.stripe_subscription_id, params={"pause_collection": {"behavior": "keep_as_draft"}}
    )
    stripe_world.deliver()
    assert membership_of(app, reader).pause_behavior == "keep_as_draft"
    assert perks_at(app, reader, m.current_period_end + timedelta(days=3)) == PERKS


def test_an_old_pause_note_does_not_date_a_new_pause():
    base = {"id": "sub_1", "customer": "cus_1", "status": "active", "created": 1_700_000_000,
            "items": {"data": [{"current_period_start": 1_700_000_000,
                                "current_period_end": 1_702_592_000}]}}  # fmt: skip
    ours = {**base, "metadata": {"pause_from": "1702592000", "pause_until": "1705270400"},
            "pause_collection": {"behavior": "void", "resumes_at": 1705270400}}  # fmt: skip
    assert Subscription.from_stripe(ours).pause_from == from_unix(1_702_592_000)
    later = {**ours, "pause_collection": {"behavior": "void", "resumes_at": 1710000000}}
    assert Subscription.from_stripe(later).pause_from is None
    lifted = {**ours, "pause_collection": None}
    parsed = Subscription.from_stripe(lifted)
    assert (parsed.pause_behavior, parsed.pause_from, parsed.pause_resumes_at) == (None,) * 3
