"""Donor fixtures: two campaigns in two currencies, and gifts written as the webhook writes them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import Campaign, Donation, DonationStatus, Frequency, Outlet
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.timeutil import utcnow
from tests.fundraisers.conftest import campaign, make_campaign  # noqa: F401 - fixture

GEL_SLUG = "tbilisi-together"
LAST_YEAR = utcnow().year - 1  # a year that is over: its statements are final
_ids = itertools.count(1)


@pytest.fixture
def campaigns(app, campaign):  # noqa: F811 - the fixture imported above
    """{"eur": id, "gel": id}: the fundraiser's campaign and a Georgian one with an Armenian
    outlet, in lari."""
    with app.app_context():
        gel = make_campaign(GEL_SLUG, currency="gel", title="ერთად თბილისისთვის")
        outlet = db.session.scalar(select(Outlet).where(Outlet.campaign_id == gel).limit(1))
        outlet.name = "Հետք Լրագրողներ"
        db.session.commit()
    return {"eur": campaign, "gel": gel}


def at(year: int, month: int, day: int = 15) -> datetime:
    """Noon UTC on a day."""
    return datetime(year, month, day, 12, tzinfo=UTC)


def gift(campaign_id: int, amount: int, when: datetime, *, email: str | None = None,
         user=None, outlet: str | None = None, monthly: bool = False,
         kind: EntryKind | None = None, locale: str = "en") -> LedgerEntry:  # fmt: skip
    """A paid gift (a donation and its ledger row, as giving.record_payment writes them)."""
    target = db.session.get(Campaign, campaign_id)
    chosen = next((o for o in target.outlets if o.slug == outlet), None) if outlet else None
    donation = Donation(
        campaign_id=campaign_id, outlet_id=chosen.id if chosen else None,
        user_id=user.id if user else None, email=email or (user.email if user else None),
        amount=amount, currency=target.currency,
        frequency=Frequency.monthly if monthly else Frequency.once,
        status=DonationStatus.active if monthly else DonationStatus.paid, paid_at=when,
        locale=locale, offline=kind == EntryKind.offline,
    )  # fmt: skip
    db.session.add(donation)
    db.session.flush()
    kind = kind or (EntryKind.monthly_gift if monthly else EntryKind.gift)
    number = next(_ids)
    row = ledger.record(
        kind, amount, target.currency, f"pi_t{number}", when, payment_intent_id=f"pi_t{number}",
        user_id=donation.user_id, campaign_id=campaign_id, outlet_id=donation.outlet_id,
        donation_id=donation.id, description="gift",
    )  # fmt: skip
    db.session.flush()
    return row


def month_of(payment: LedgerEntry, amount: int, when: datetime) -> LedgerEntry:
    """Another month of the same monthly gift."""
    number = next(_ids)
    row = ledger.record(
        EntryKind.monthly_gift, amount, payment.currency, f"in_t{number}", when,
        payment_intent_id=f"pi_t{number}", user_id=payment.user_id,
        campaign_id=payment.campaign_id, outlet_id=payment.outlet_id,
        donation_id=payment.donation_id, description="gift",
    )  # fmt: skip
    db.session.flush()
    return row


def refund(payment: LedgerEntry, amount: int, when: datetime, status: str = "succeeded") -> None:
    """A refund of part or all of a payment, as the refund handler records it."""
    ledger.record_refund(
        ledger.Reversal(
            f"re_t{next(_ids)}", amount, payment.currency, status, when, payment.payment_intent_id
        )
    )
    db.session.flush()


def dispute(payment: LedgerEntry, amount: int, when: datetime) -> None:
    """A card dispute the host lost."""
    ledger.record_dispute(
        ledger.Reversal(
            f"dp_t{next(_ids)}", amount, payment.currency, "lost", when, payment.payment_intent_id
        )
    )
    db.session.flush()
