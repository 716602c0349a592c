"""A reward lasts only while the gift still earns it: a refund or a lost dispute ends it, once,
whatever order and however often the events arrive."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from membership.audit import AuditEntry
from membership.billing import events
from membership.billing import stripe_gateway as gateway
from membership.billing.models import StripeEvent
from membership.extensions import db
from membership.fundraisers import rewards
from membership.fundraisers.models import RewardTier
from membership.gifts.services import add_months
from membership.ledger.models import LedgerEntry
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.perks.services import active_perk_slugs
from membership.timeutil import utcnow
from tests.factories import make_user
from tests.fundraisers.conftest import give, give_and_pay

PERK = "members-only-articles"  # the campaign's tier: from €50, six months


def _donor(app, auth) -> int:
    with app.app_context():
        user_id = make_user(email="reader@example.org").id
    auth.login()
    return user_id


def _perks(app, user_id: int, at=None) -> list[str]:
    with app.app_context():
        return active_perk_slugs(user_id, at)


def _grants(app, user_id: int) -> list[tuple]:
    with app.app_context():
        return [
            (g.perk.slug, g.starts_at, g.ends_at, g.revoked_at, g.reason)
            for g in db.session.scalars(
                select(PerkGrant)
                .where(PerkGrant.user_id == user_id, PerkGrant.source == GrantSource.reward)
                .order_by(PerkGrant.id)
            )
        ]


def _refund(app, amount: int | None, key: str) -> None:
    with app.app_context():
        intent = db.session.scalar(
            select(LedgerEntry.payment_intent_id).where(LedgerEntry.amount > 0)
        )
        gateway.refund_payment_intent(intent, amount, key)


def _ended_audits(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(AuditEntry.action == "perk.reward_ended")
        )


def _replay_everything(app, stripe_world) -> None:
    """Every event again: redelivered by Stripe, then replayed by staff (handlers run again)."""
    for event in stripe_world.sandbox.events():
        assert stripe_world.post(event).status_code == 200
    with app.app_context():
        for stored in db.session.scalars(select(StripeEvent).order_by(StripeEvent.received_at)):
            first = stored.status  # a replay ends as the first run did: no handler now fails
            assert first in ("processed", "ignored"), (stored.type, first)
            assert events.process(stored).status == first, stored.type
        db.session.commit()


def test_a_full_refund_ends_the_reward_once(app, campaign, auth, stripe_world):
    user_id = _donor(app, auth)
    give_and_pay(auth, stripe_world, amount="50")
    assert PERK in _perks(app, user_id)
    _refund(app, None, "t-full")
    stripe_world.deliver()
    assert PERK not in _perks(app, user_id)
    [(slug, starts, ends, revoked, reason)] = _grants(app, user_id)
    assert slug == PERK and ends == add_months(starts, 6)  # the grant stays, as it was made
    assert revoked is not None and starts <= revoked <= utcnow()
    assert reason == rewards.REWARD_ENDED
    _replay_everything(app, stripe_world)
    assert _grants(app, user_id) == [(slug, starts, ends, revoked, reason)]
    assert _ended_audits(app) == 1
    assert PERK not in _perks(app, user_id)


def test_a_refund_before_the_payment_events_still_ends_the_reward(
    app, campaign, auth, stripe_world
):
    user_id = _donor(app, auth)
    url = give(auth, amount="50").headers["Location"]
    stripe_world.pay(url)
    payment_events = stripe_world.new_events()
    intent = next(e for e in payment_events if e["type"] == "payment_intent.succeeded")
    with app.app_context():
        gateway.refund_payment_intent(intent["data"]["object"]["id"], None, "t-early")
    refund_events = [e for e in stripe_world.new_events() if e not in payment_events]
    stripe_world.deliver(list(reversed(refund_events)))  # refunds first, newest first
    assert PERK not in _perks(app, user_id)
    stripe_world.deliver(payment_events)
    assert PERK not in _perks(app, user_id)
    [(_slug, _starts, _ends, revoked, reason)] = _grants(app, user_id)
    assert revoked is not None and reason == rewards.REWARD_ENDED


def test_a_partial_refund_ends_the_reward_only_below_the_minimum(app, campaign, auth, stripe_world):
    user_id = _donor(app, auth)
    give_and_pay(auth, stripe_world, amount="60")
    _refund(app, 1000, "t-part-1")  # €50 left: still reaches the tier
    stripe_world.deliver()
    assert PERK in _perks(app, user_id)
    assert _grants(app, user_id)[0][3] is None
    _refund(app, 1, "t-part-2")  # €49.99 left
    stripe_world.deliver()
    assert PERK not in _perks(app, user_id)
    assert _ended_audits(app) == 1


def test_a_lost_dispute_ends_the_reward_a_won_one_does_not(app, campaign, auth, stripe_world):
    user_id = _donor(app, auth)
    for amount in ("50", "70"):
        give_and_pay(auth, stripe_world, amount=amount, card="4000000000000259")
    disputes = {
        e["data"]["object"]["amount"]: e["data"]["object"]["id"]
        for e in stripe_world.sandbox.events()
        if e["type"] == "charge.dispute.created"
    }
    assert PERK in _perks(app, user_id)
    stripe_world.sandbox.close_dispute(disputes[5000], outcome="lost")
    stripe_world.sandbox.close_dispute(disputes[7000], outcome="won")
    stripe_world.deliver()
    with app.app_context():
        by_donation = {
            g.source_ref: g.revoked_at
            for g in db.session.scalars(select(PerkGrant).where(PerkGrant.user_id == user_id))
        }
        amounts = dict(
            db.session.execute(
                select(LedgerEntry.donation_id, LedgerEntry.amount).where(LedgerEntry.amount > 0)
            ).all()
        )
    lost = next(d for d, a in amounts.items() if a == 5000)
    won = next(d for d, a in amounts.items() if a == 7000)
    assert by_donation[f"donation-{lost}"] is not None
    assert by_donation[f"donation-{won}"] is None
    assert PERK in _perks(app, user_id)  # the €70 gift still earns it


def test_a_gift_that_still_reaches_a_lower_tier_keeps_the_perk_for_that_tier(
    app, campaign, auth, stripe_world
):
    with app.app_context():
        perk_id = db.session.scalar(select(Perk.id).where(Perk.slug == PERK))
        db.session.add(RewardTier(campaign_id=campaign, minimum=2000, perk_id=perk_id, months=2))
        db.session.commit()
    user_id = _donor(app, auth)
    give_and_pay(auth, stripe_world, amount="50")
    _refund(app, 3000, "t-lower")  # €20 left: the two-month tier
    stripe_world.deliver()
    [(_slug, starts, ends, revoked, reason)] = _grants(app, user_id)
    assert ends == add_months(starts, 6) and revoked == add_months(starts, 2)
    assert reason == rewards.REWARD_ENDED
    assert PERK in _perks(app, user_id)
    assert PERK not in _perks(app, user_id, add_months(starts, 2) + timedelta(seconds=1))
