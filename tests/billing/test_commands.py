"""`flask stripe sync-plans | reconcile | replay` as an operator uses them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from membership.billing.models import Membership, Price, StripeEvent
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from tests.billing.conftest import join, membership_of


def test_sync_plans_twice_creates_nothing_new(app, catalogue, runner, stripe_world):
    first = runner.invoke(args=["stripe", "sync-plans"])
    assert first.exit_code == 0, first.output
    # A product per plan; prices for fixed plans (pay-what-you-want ones are made at Checkout).
    assert "3 products created, 4 prices created" in first.output
    again = runner.invoke(args=["stripe", "sync-plans"])
    assert again.exit_code == 0, again.output
    assert "0 products created, 0 prices created, 0 prices linked" in again.output
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Price.id)).where(Price.stripe_price_id.is_(None)))
            == 0
        )


def test_sync_plans_links_prices_that_stripe_already_has(app, catalogue, runner, stripe_world):
    runner.invoke(args=["stripe", "sync-plans"])
    with app.app_context():
        for price in db.session.scalars(select(Price)):
            price.stripe_price_id = None  # a fresh database against the same Stripe account
        db.session.commit()
    result = runner.invoke(args=["stripe", "sync-plans"])
    assert "0 prices created, 4 prices linked" in result.output


def test_reconcile_repairs_lost_webhooks(app, reader, auth, runner, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.advance(days=31)  # a renewal too; no event was ever delivered
    assert membership_of(app, reader) is None

    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "membership created (active)" in result.output
    mended = [line for line in result.output.splitlines() if line.startswith("mended: invoice ")]
    assert len(mended) == 2
    assert all("payment of €5.00 added to the ledger" in line for line in mended)
    assert "differences mended." in result.output.splitlines()[-1]
    assert membership_of(app, reader).status == "active"
    with app.app_context():
        assert db.session.scalar(select(func.sum(LedgerEntry.amount))) == 1000

    again = runner.invoke(args=["stripe", "reconcile"])
    assert again.output.splitlines()[-1].endswith(": 0 differences mended.")
    # Late webhooks change nothing after a reconciliation.
    stripe_world.deliver()
    with app.app_context():
        assert db.session.scalar(select(func.sum(LedgerEntry.amount))) == 1000


def test_reconcile_mends_a_drifted_status(app, reader, auth, runner, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    with app.app_context():
        db.session.scalar(select(Membership)).status = "canceled"
        db.session.commit()
    result = runner.invoke(args=["stripe", "reconcile"])
    assert "status 'canceled' → 'active'" in result.output


def test_reconcile_refuses_a_bad_date(runner):
    result = runner.invoke(args=["stripe", "reconcile", "--since", "yesterday"])
    assert result.exit_code == 1
    assert "--since must be a date" in result.output


def test_replay_reprocesses_a_stored_or_remote_event(app, reader, auth, runner, stripe_world):
    stripe_world.pay(join(auth))
    paid = stripe_world.sandbox.events("invoice.paid")[0]
    # Never delivered: replay fetches it from Stripe.
    result = runner.invoke(args=["stripe", "replay", paid["id"]])
    assert result.exit_code == 0, result.output
    assert f"{paid['id']} (invoice.paid): processed." in result.output
    with app.app_context():
        assert db.session.get(StripeEvent, paid["id"]).status == "processed"
        assert db.session.scalar(select(func.sum(LedgerEntry.amount))) == 500
    again = runner.invoke(args=["stripe", "replay", paid["id"]])
    assert again.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.sum(LedgerEntry.amount))) == 500


def test_replay_refuses_unknown_and_malformed_ids(runner, stripe_world):
    assert runner.invoke(args=["stripe", "replay", "nonsense"]).exit_code == 1
    unknown = runner.invoke(args=["stripe", "replay", "evt_does_not_exist"])
    assert unknown.exit_code == 1
    assert "Stripe does not know" in unknown.output


@pytest.mark.config(STRIPE_SECRET_KEY="sk_live_" + "x" * 24)
def test_the_sandbox_command_exists_and_refuses_live_keys(runner):
    result = runner.invoke(args=["stripe", "sandbox"])
    assert result.exit_code == 1
    assert "the sandbox refuses live keys" in result.output
