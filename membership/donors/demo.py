"""Demo donor: Mariam gave three times to the demo fundraiser without an account, and got part
of one gift back; her statement's signed link is printed with the demo's summary."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from membership.accounts.models import Role, User
from membership.billing.stripe_objects import PaymentIntent
from membership.donors import links
from membership.extensions import db
from membership.fundraisers import demo as fundraiser_demo
from membership.fundraisers import editing, giving
from membership.fundraisers.campaigns import KIND
from membership.fundraisers.models import Campaign, Donation, DonationStatus, Frequency
from membership.ledger import services as ledger
from membership.timeutil import utcnow

DONOR = "mariam@example.org"
# amount (minor units), outlet slug or "" for the split, days ago, public name
GIFTS = [(4000, "", 4, "Mariam"), (2500, "river-daily", 3, ""), (1500, "valley-voice", 2, "")]
REFUNDED = 1000  # of the first gift, a day ago


def seed_statement_donor(summary, members: int, echo) -> None:
    """Mariam's gifts (as the webhook records them) and a refund; once."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == fundraiser_demo.SLUG))
    if campaign is None or db.session.scalar(
        select(Donation.id).where(Donation.email == DONOR).limit(1)
    ):
        return
    now = utcnow()
    outlets = {outlet.slug: outlet for outlet in campaign.outlets}
    payments = []
    for number, (amount, outlet, days, name) in enumerate(GIFTS, start=1):
        paid = now - timedelta(days=days)
        donation = Donation(
            campaign_id=campaign.id, outlet_id=outlets[outlet].id if outlet else None,
            email=DONOR, amount=amount, currency=campaign.currency, frequency=Frequency.once,
            status=DonationStatus.pending, public_name=name, locale="en",
        )  # fmt: skip
        db.session.add(donation)
        db.session.flush()
        intent = PaymentIntent(
            id=f"pi_demo_statement_{number}", status="succeeded", amount_received=amount,
            currency=campaign.currency, customer=None, latest_charge=None,
            metadata={"kind": KIND, "donation_id": str(donation.id)}, created=paid,
        )  # fmt: skip
        giving.record_payment(intent, donation)
        payments.append(intent)
    refund = ledger.Reversal("re_demo_statement_1", REFUNDED, campaign.currency, "succeeded",
                             now - timedelta(days=1), payments[0].id)  # fmt: skip
    ledger.record_refund(refund)
    staff = db.session.scalar(select(User).where(User.role == Role.admin).limit(1))
    if staff is not None:  # a bank transfer staff recorded with her address
        editing.record_offline_gift(campaign, 5000, staff, outlet=outlets["mountain-post"],
                                     email=DONOR, note="demo transfer from Mariam")  # fmt: skip
    db.session.flush()
    url = links.statement_url(DONOR, (now - timedelta(days=1)).year)
    summary.parts.append("1 donor with a statement")
    summary.secrets.append(f"Donor statement of {DONOR} (no account needed): {url}")
