"""The identity the host's books rest on, property-based: whatever gifts, refunds (failed ones
too) and disputes happen, and however Stripe delivers their webhooks (shuffled, duplicated),
each outlet's balance plus its grants, its Stripe fees and its host fee add up to its gross,
the outlets' gross adds up to what donors gave net of refunds (Stripe's own record), and the
fees add up to Stripe's balance transactions, to the minor unit."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membership.extensions import db
from membership.fundraisers.models import Campaign
from membership.host import accounts, grants, hosts, transparency
from tests.fundraisers.conftest import OUTLETS, make_campaign
from tests.host.conftest import DE_CARD, US_CARD, charge_of, pay_gift, refund

FATES = ["kept", "partial_refund", "full_refund", "refund_fails", "dispute_lost", "dispute_won"]
GIFT = st.tuples(
    st.integers(500, 25_000),  # cents
    st.sampled_from(["all", "all", *OUTLETS]),
    st.sampled_from([US_CARD, DE_CARD]),
    st.sampled_from(FATES),
    st.sampled_from(["once", "once", "once", "monthly"]),
)
SLUGS = itertools.count(1)


def stripe_truth(sandbox) -> tuple[int, int]:
    """What Stripe says: money kept (charges less refunds still taken and lost disputes) and
    the sum of its fees."""
    engine = sandbox.engine
    with engine.lock:
        charges = [c for c in engine.of_kind("charge") if c["status"] == "succeeded"]
        refunds = [
            r
            for r in engine.of_kind("refund")
            if r["status"] in ("pending", "requires_action", "succeeded")
        ]
        lost = [d for d in engine.of_kind("dispute") if d["status"] == "lost"]
        fees = sum(t["fee"] for t in engine.of_kind("balance_transaction"))
    kept = sum(c["amount"] for c in charges) - sum(r["amount"] for r in refunds)
    return kept - sum(d["amount"] for d in lost), fees


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gifts=st.lists(GIFT, min_size=1, max_size=5),
    granted=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3000)), max_size=3),
    fee_points=st.integers(0, 1000),
    rng=st.randoms(use_true_random=False),
)
def test_balances_grants_and_fees_add_up_to_the_gross(
    app, client, stripe_world, gifts, granted, fee_points, rng
):
    stripe_world.sandbox.reset()
    stripe_world.delivered.clear()
    transparency.clear()
    slug = f"identity-{next(SLUGS)}"
    with app.app_context():
        from membership.billing.demo import seed_catalogue
        from membership.demo import Summary

        seed_catalogue(Summary(), 0, print)
        db.session.commit()
        campaign_id = make_campaign(slug=slug)
        c = db.session.get(Campaign, campaign_id)
        hosts.save_host(c, {"legal_name": "Host", "fee_basis_points": fee_points}, None)
        db.session.commit()
    sandbox = stripe_world.sandbox
    for cents, outlet, card, fate, frequency in gifts:
        intent = pay_gift(
            app,
            stripe_world,
            campaign_id,
            f"{cents / 100:.2f}",
            outlet=outlet,
            card=card,
            frequency=frequency,
        )
        if intent is None or fate == "kept":
            continue
        if fate in ("partial_refund", "full_refund", "refund_fails"):
            amount = None if fate == "full_refund" else max(1, cents // 3)
            refund_id = refund(app, intent, amount, key=f"{slug}-{intent}")
            if fate == "refund_fails":
                sandbox.move_refund(refund_id, "failed")
        else:
            dispute = sandbox.dispute_charge(charge_of(stripe_world, intent)["id"])
            sandbox.close_dispute(dispute["id"], fate.removeprefix("dispute_"))
    events = stripe_world.new_events()
    batch = events + rng.sample(events, rng.randint(0, len(events)))  # some twice
    rng.shuffle(batch)
    stripe_world.deliver(batch)
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        for index, cents in granted:
            grants.record_grant(
                c,
                c.outlets[index],
                grants.GrantInput(f"{cents / 100:.2f}", "eur", date(2026, 12, 1)),
                grants.new_token(),
                None,
                date(2026, 12, 4),
            )
        db.session.commit()
        books = [a for a in accounts.accounts(c) if a.currency == "eur"]
    gross, fees = stripe_truth(sandbox)
    assert sum(a.raised for a in books) == gross
    assert sum(a.fees for a in books) == fees
    assert sum(a.granted for a in books) == sum(cents for _, cents in granted)
    for a in books:
        assert a.balance + a.granted + a.fees + a.host_fee == a.raised
    assert sum(a.host_fee for a in books) == max(0, gross) * fee_points // 10_000
    figures = client.get(f"/api/v1/fundraisers/{slug}/transparency").get_json()
    assert (figures["raised"], figures["fees"]) == (gross, fees)
