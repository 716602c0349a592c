"""Refunds of a gift split between outlets take back from the shares that gift gave: every
outlet's figure nets exactly, and a gift refunded in full, in any number of partial refunds,
leaves every outlet at zero."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign, Outlet
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.timeutil import utcnow
from tests.fundraisers.conftest import give_and_pay, progress

_serial = itertools.count()


def _payment_intent(app) -> str:
    with app.app_context():
        return db.session.scalar(
            select(LedgerEntry.payment_intent_id).where(LedgerEntry.kind == EntryKind.gift)
        )


def test_two_partial_refunds_of_a_split_gift_net_every_outlet_to_zero(
    app, campaign, auth, client, stripe_world
):
    give_and_pay(auth, stripe_world, amount="10.00")  # 1000 split three ways: 334, 333, 333
    assert [o["raised"] for o in progress(client)["outlets"]] == [334, 333, 333]
    with app.app_context():
        intent = _payment_intent(app)
        gateway.refund_payment_intent(intent, 500, "t-half-1")
        gateway.refund_payment_intent(intent, 500, "t-half-2")
    stripe_world.deliver()
    figures = progress(client)
    assert figures["raised"] == 0
    assert [o["raised"] for o in figures["outlets"]] == [0, 0, 0]


def test_a_partial_refund_takes_back_in_proportion_to_the_shares(
    app, campaign, auth, client, stripe_world
):
    give_and_pay(auth, stripe_world, amount="10.00")
    with app.app_context():
        gateway.refund_payment_intent(_payment_intent(app), 500, "t-half")
    stripe_world.deliver()
    figures = progress(client)
    shares = [o["raised"] for o in figures["outlets"]]
    assert sum(shares) == figures["raised"] == 500
    assert shares == [167, 167, 166]  # 334 - 167, 333 - 166, 333 - 167


def _campaign_with(n: int) -> tuple[int, list[int]]:
    """A fresh campaign of n outlets (ids in display order)."""
    serial = next(_serial)
    now = utcnow()
    campaign = Campaign(
        slug=f"split-{serial}", title="Split", story="", goal=1_000_000, currency="eur",
        starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), min_amount=1,
        max_amount=10_000_000, preset_amounts=[], totals_version=0,
    )  # fmt: skip
    db.session.add(campaign)
    db.session.flush()
    outlets = [
        Outlet(campaign_id=campaign.id, slug=f"o{i}", name=f"O{i}", url="", blurb="", position=i)
        for i in range(n)
    ]
    db.session.add_all(outlets)
    db.session.flush()
    return campaign.id, [o.id for o in outlets]


def _refunds(draw_amount: int, steps: list[int]) -> list[int]:
    """Partial refunds that add up to at most the amount, from drawn positive steps."""
    left, out = draw_amount, []
    for step in steps:
        if left == 0:
            break
        part = min(step, left)
        out.append(part)
        left -= part
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(min_value=1, max_value=7),
    gifts=st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=4),
    steps=st.lists(st.lists(st.integers(min_value=1, max_value=40_000), max_size=5), max_size=4),
    full=st.lists(st.booleans(), max_size=4),
    failed=st.lists(st.booleans(), max_size=8),
)
def test_outlet_shares_add_up_and_a_fully_refunded_gift_nets_every_outlet_to_zero(
    app_ctx, n, gifts, steps, full, failed
):
    campaign_id, outlet_ids = _campaign_with(n)
    at = datetime(2026, 5, 1, tzinfo=UTC)
    fully_refunded = []
    for g, amount in enumerate(gifts):
        pi = f"pi_{campaign_id}_{g}"
        ledger.record(EntryKind.gift, amount, "eur", pi, at, payment_intent_id=pi,
                      campaign_id=campaign_id)  # fmt: skip
        parts = _refunds(amount, steps[g] if g < len(steps) else [])
        refund_in_full = g < len(full) and full[g]
        if refund_in_full and sum(parts) < amount:
            parts.append(amount - sum(parts))
        for r, part in enumerate(parts):
            at += timedelta(minutes=1)
            refund = ledger.Reversal(f"re_{pi}_{r}", part, "eur", "succeeded", at, pi)
            ledger.record_refund(refund)
        # Some refunds fail, and are refunded again: the gift still ends refunded in full.
        for r, part in enumerate(parts):
            if r < len(failed) and failed[r]:
                at += timedelta(minutes=1)
                ledger.record_refund(ledger.Reversal(f"re_{pi}_{r}", part, "eur", "failed",
                                                     at - timedelta(minutes=1), pi))  # fmt: skip
                again = ledger.Reversal(f"re_{pi}_{r}_again", part, "eur", "succeeded", at, pi)
                ledger.record_refund(again)
        if sum(parts) == amount:
            fully_refunded.append(amount)
    shares = totals.outlet_shares(campaign_id, outlet_ids)
    raised = totals.raised(campaign_id)
    assert sum(shares.values()) == raised
    assert all(share >= 0 for share in shares.values())
    # Every outlet keeps exactly its share of the gifts that were not refunded in full.
    kept = [0] * n
    for g, amount in enumerate(gifts):
        pi = f"pi_{campaign_id}_{g}"
        reversed_amount = -sum(
            db.session.scalars(
                select(LedgerEntry.amount).where(
                    LedgerEntry.payment_intent_id == pi, LedgerEntry.reverses_id.is_not(None)
                )
            )
        )
        base = totals.equal_shares(amount, n)
        back = totals.taken_back(base, reversed_amount)
        kept = [k + s - b for k, s, b in zip(kept, base, back, strict=True)]
        if reversed_amount == amount:
            assert back == base  # refunded in full: nothing of it is left at any outlet
    assert [shares[o] for o in outlet_ids] == kept
    db.session.rollback()


@given(
    shares=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8).filter(
        lambda s: sum(s) > 0
    ),
    data=st.data(),
)
def test_taken_back_is_exact_and_bounded(shares, data):
    payment = sum(shares)
    reversed_amount = data.draw(st.integers(min_value=0, max_value=payment))
    parts = totals.taken_back(shares, reversed_amount)
    assert sum(parts) == reversed_amount
    assert all(0 <= part <= share for part, share in zip(parts, shares, strict=True))
    assert totals.taken_back(shares, payment) == shares
    assert totals.taken_back(shares, 0) == [0] * len(shares)


def test_the_staff_report_splits_each_period_and_the_periods_add_up(app_ctx):
    """Per period (the staff report's criteria), each refund row takes its own part, so every
    period's outlet figures add up to that period's total and the periods add up to the whole."""
    campaign_id, outlet_ids = _campaign_with(3)
    may, june, july = (datetime(2026, m, 10, tzinfo=UTC) for m in (5, 6, 7))
    ledger.record(EntryKind.gift, 1000, "eur", "pi_report", may, payment_intent_id="pi_report",
                  campaign_id=campaign_id)  # fmt: skip
    for refund_id, amount, at in (("re_r1", 500, june), ("re_r2", 500, july)):
        ledger.record_refund(
            ledger.Reversal(refund_id, amount, "eur", "succeeded", at, "pi_report")
        )
    months = [(may, june), (june, july), (july, datetime(2026, 8, 1, tzinfo=UTC))]
    whole = [0, 0, 0]
    for start, end in months:
        in_period = (LedgerEntry.occurred_at >= start, LedgerEntry.occurred_at < end)
        shares = totals.split_shares(campaign_id, outlet_ids, *in_period, key=LedgerEntry.kind)
        period_total = db.session.scalar(
            select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.campaign_id == campaign_id, *in_period
            )
        )
        assert sum(shares.values()) == period_total
        for (_, outlet_id), part in shares.items():
            whole[outlet_ids.index(outlet_id)] += part
    assert whole == [0, 0, 0]
    db.session.rollback()
