"""When a membership's perks end after a cancellation: when the subscription ends (`ended_at`),
at once for an immediate cancellation, at the period's end for a cancellation at period end."""

from __future__ import annotations

from datetime import timedelta

from membership.perks.services import active_perk_slugs
from membership.timeutil import from_unix
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import sdk

PERKS = ["ad-free", "members-only-articles"]


def perks_at(app, user_id, when):
    with app.app_context():
        return active_perk_slugs(user_id, at=when)


def test_an_immediate_cancellation_ends_the_perks_when_the_subscription_ends(
    app, reader, auth, client, stripe_world, mailbox
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    stripe_world.advance(days=3)
    paid_until = membership_of(app, reader).current_period_end

    # Staff cancel it at once in Stripe's dashboard (or Stripe does, for fraud).
    before = stripe_world.sandbox.now()
    sdk(stripe_world).v1.subscriptions.cancel(membership_of(app, reader).stripe_subscription_id)
    stripe_world.deliver()

    ended = membership_of(app, reader)
    assert ended.status == "canceled"
    assert from_unix(before) <= ended.ended_at <= from_unix(stripe_world.sandbox.now())
    assert ended.ended_at < paid_until - timedelta(days=20)
    assert perks_at(app, reader, ended.ended_at - timedelta(minutes=1)) == PERKS
    assert perks_at(app, reader, ended.ended_at + timedelta(minutes=1)) == []
    assert perks_at(app, reader, paid_until - timedelta(days=1)) == []
    # One mail for one cause: the cancellation, which says the perks have ended.
    subjects = [m["Subject"] for m in mailbox.to("reader@example.org")]
    assert subjects.count("Your membership is cancelled") == 1
    assert "Your membership has ended" not in subjects


def test_a_cancellation_at_period_end_keeps_the_perks_until_the_period_ends(
    app, reader, auth, stripe_world
):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    membership = membership_of(app, reader)
    auth.post(f"/account/membership/{membership.id}/cancel", form_page="/account")
    stripe_world.advance(days=32)
    stripe_world.deliver()

    ended = membership_of(app, reader)
    assert ended.status == "canceled"
    assert ended.ended_at == membership.current_period_end  # Stripe ends it at the period end
    assert perks_at(app, reader, ended.ended_at - timedelta(minutes=1)) == PERKS
    assert perks_at(app, reader, ended.ended_at + timedelta(minutes=1)) == []
