"""`flask stripe reconcile` never asks Stripe while it holds a lock, and keeps what it mended
page by page when Stripe fails half-way."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from membership.audit import AuditEntry
from membership.billing import stripe_gateway as gateway
from membership.billing import stripe_lists
from membership.billing.models import Membership, StripeEvent
from membership.extensions import db
from membership.ledger.models import LedgerEntry, LedgerFee
from membership.mail import MailJob
from membership.perks.models import PerkGrant
from tests.billing.conftest import join
from tests.conftest import Actions
from tests.factories import make_user

READERS = ("ana@example.org", "ben@example.org", "chi@example.org")


@pytest.fixture
def three_members_lost(app, catalogue, mailbox, stripe_world):
    """Three readers joined and paid; a refund too; then every webhook was lost."""
    for email in READERS:
        with app.app_context():
            make_user(email=email)
        reader = Actions(app.test_client(), mailbox)
        reader.login(email=email)
        stripe_world.pay(join(reader))
    stripe_world.deliver()
    paid = stripe_world.sandbox.events("invoice_payment.paid")[0]["data"]["object"]
    with app.app_context():
        gateway.refund_payment_intent(paid["payment"]["payment_intent"], 100, "test-refund")
        for model in (StripeEvent, MailJob, PerkGrant, LedgerFee, LedgerEntry, Membership):
            db.session.execute(delete(model))
        db.session.commit()


def holds_a_write(is_postgres: bool) -> bool:
    """Whether the app's session has written or row-locked anything not yet committed."""
    if not db.session().in_transaction():
        return False
    connection = db.session.connection()
    if is_postgres:  # an id is assigned to a transaction by its first write or row lock
        sql = "SELECT pg_current_xact_id_if_assigned()"
        return connection.exec_driver_sql(sql).scalar() is not None
    return connection.connection.dbapi_connection.in_transaction  # SQLite: BEGIN before a write


@pytest.fixture
def stripe_calls(monkeypatch, is_postgres):
    """Every Stripe call, with whether the session held a write or row lock at that moment."""
    calls: list[tuple[str, bool]] = []
    for name in ("_call", "_get"):
        real = getattr(gateway, name)

        def watched(method, *args, _real=real, **kwargs):
            label = method if isinstance(method, str) else getattr(method, "__qualname__", "")
            calls.append((label, holds_a_write(is_postgres)))
            return _real(method, *args, **kwargs)

        monkeypatch.setattr(gateway, name, watched)
    monkeypatch.setattr(stripe_lists, "PAGE_SIZE", 1)  # a page per object: many batches
    return calls


def test_reconcile_asks_stripe_only_with_nothing_locked(app, runner, three_members_lost,
                                                        stripe_calls):  # fmt: skip
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    locked = [label for label, held in stripe_calls if held]
    assert locked == [], f"Stripe asked while holding a lock: {locked}"
    assert len(stripe_calls) > 10
    assert result.output.count("membership created (active)") == 3
    assert "refund re_" in result.output


def test_an_interrupted_reconcile_keeps_the_pages_it_finished(
    app, runner, three_members_lost, stripe_calls, monkeypatch
):
    real = gateway._call
    invoice_pages = []

    def failing(method, *args, **kwargs):
        if getattr(method, "__qualname__", "") == "InvoiceService.list":
            invoice_pages.append(kwargs)
            if len(invoice_pages) == 2:
                raise gateway.PaymentProviderError("APIConnectionError: the network went away")
        return real(method, *args, **kwargs)

    monkeypatch.setattr(gateway, "_call", failing)
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 1
    assert "Stripe refused: APIConnectionError: the network went away" in result.output
    assert "The 4 differences mended before are kept" in result.output
    assert result.output.count("membership created (active)") == 3
    assert result.output.count("mended: invoice ") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Membership.id))) == 3
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1  # the first page's
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "stripe.reconciled")
        )
        assert entry.details["interrupted"].startswith("APIConnectionError")
        assert entry.details["count"] == 4

    monkeypatch.setattr(gateway, "_call", real)
    again = runner.invoke(args=["stripe", "reconcile"])
    assert again.exit_code == 0, again.output
    assert "membership created" not in again.output
    assert again.output.count("mended: invoice ") == 2
    assert again.output.count("mended: charge ") == 1
    # The 3 objects, plus the 4 fees lost with the ledger (3 charges' and the refund's).
    assert again.output.count("mended: fee txn_") == 4
    assert again.output.splitlines()[-1].endswith(": 7 differences mended.")
    with app.app_context():
        assert db.session.scalar(select(func.sum(LedgerEntry.amount))) == 3 * 500 - 100
