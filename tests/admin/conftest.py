"""Staff-area fixtures: signed-in staff or admin, and rows inserted with known values."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from membership.accounts.models import Role
from membership.billing.demo import seed_catalogue
from membership.billing.models import Membership
from membership.demo import Summary
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry
from tests.factories import make_user

_ids = count(1)


def at(year: int, month: int, day: int = 1, hour: int = 12) -> datetime:
    """An aware UTC time."""
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def catalogue(app):
    """The demo perks and plans."""
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


@pytest.fixture
def staff(app, auth):
    """A staff member, signed in; returns the id."""
    with app.app_context():
        user_id = make_user(email="staff@example.org", name="Staff", role=Role.staff).id
    auth.login(email="staff@example.org")
    return user_id


@pytest.fixture
def admin(app, auth):
    """An admin, signed in; returns the id."""
    with app.app_context():
        user_id = make_user(email="boss@example.org", name="Boss", role=Role.admin).id
    auth.login(email="boss@example.org")
    return user_id


def add_membership(
    user_id: int,
    status: str = "active",
    interval: str = "month",
    amount: int = 500,
    currency: str = "eur",
    started: datetime | None = None,
    **fields,
) -> Membership:
    """Insert a membership row as Stripe's mirror would hold it (call in an app context)."""
    n = next(_ids)
    row = Membership(user_id=user_id, stripe_subscription_id=f"sub_t{n}",
                     stripe_customer_id=f"cus_t{user_id}", status=status, interval=interval,
                     amount=amount, currency=currency, started_at=started or at(2026, 1, 5),
                     **fields)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def add_entry(
    kind: EntryKind, amount: int, occurred: datetime, currency: str = "eur", **fields
) -> LedgerEntry:
    """Insert a ledger row (call in an app context)."""
    row = LedgerEntry(kind=kind, amount=amount, currency=currency, occurred_at=occurred,
                      stripe_object_id=f"obj_t{next(_ids)}", **fields)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row
