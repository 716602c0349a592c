"""Giving: a reader's gift through Checkout, and recording what Stripe says was paid.

Every gift is a ledger row keyed by the Stripe object that moved the money (payment intent for a
one-time gift, invoice for each month of a monthly gift, `offline_donation_<id>` for a gift staff
record by hand, see editing.py). Figures are queries over those rows, never counters updated in
place (progress.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from membership import audit
from membership.accounts.models import User
from membership.billing import origins
from membership.billing import stripe_gateway as gateway
from membership.billing.stripe_objects import CheckoutSession, Invoice, PaymentIntent, Subscription
from membership.donors import links as statement_links
from membership.edge import parse_id
from membership.extensions import db
from membership.fundraisers.campaigns import (
    KIND,
    MAX_AMOUNT,
    MAX_MESSAGE,
    MAX_PUBLIC_NAME,
    DonationError,
    is_open,
)
from membership.fundraisers.models import Campaign, Donation, DonationStatus, Frequency, Outlet
from membership.fundraisers.rewards import grant_rewards
from membership.host.hosts import host_for
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.mail import date, money, queue_mail
from membership.money import MoneyError, to_minor
from membership.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GiftRequest:
    """What the donation form asked for, still as the reader typed it."""

    amount: str
    frequency: str
    outlet: str
    public_name: str
    message: str
    ref: str = ""  # the article the reader came from (?ref=)


def check_gift(campaign: Campaign, gift: GiftRequest) -> tuple[int, Frequency, Outlet | None]:
    """Validate a gift request: (amount in minor units, frequency, outlet or None for the split)."""
    if not is_open(campaign):
        raise DonationError("closed")
    try:
        frequency = Frequency(gift.frequency or "once")
    except ValueError as exc:
        raise DonationError("frequency") from exc
    try:
        amount = to_minor(gift.amount or "", campaign.currency, maximum=MAX_AMOUNT)
    except MoneyError as exc:
        raise DonationError("amount") from exc
    if amount < campaign.min_amount:
        raise DonationError("minimum")
    if amount > campaign.max_amount:
        raise DonationError("maximum")
    outlet = None
    if gift.outlet and gift.outlet != "all":
        outlet = next((o for o in campaign.outlets if o.slug == gift.outlet), None)
        if outlet is None:
            raise DonationError("outlet")
    if len(gift.public_name or "") > MAX_PUBLIC_NAME:
        raise DonationError("public_name")
    if len(gift.message or "") > MAX_MESSAGE:
        raise DonationError("message")
    return amount, frequency, outlet


def ensure_product(campaign: Campaign) -> str:
    """The Stripe product gifts to this campaign are sold under (found by key, else created)."""
    if not campaign.stripe_product_id:
        key = f"campaign:{campaign.slug}"
        campaign.stripe_product_id = gateway.find_product(key) or gateway.upsert_product(
            None, key, campaign.title, ""
        )
    return campaign.stripe_product_id


def start_donation(
    campaign: Campaign, gift: GiftRequest, user: User | None, locale: str = "en"
) -> tuple[Donation, str]:
    """Record a pending donation and create its Checkout Session; returns it and the URL."""
    amount, frequency, outlet = check_gift(campaign, gift)
    donation = Donation(
        campaign_id=campaign.id,
        outlet_id=outlet.id if outlet else None,
        user_id=user.id if user else None,
        email=user.email if user else None,
        amount=amount,
        currency=campaign.currency,
        frequency=frequency,
        public_name=" ".join((gift.public_name or "").split())[:MAX_PUBLIC_NAME],
        message=(gift.message or "").strip()[:MAX_MESSAGE],
        locale=(user.locale if user else locale) or "en",
        ref=(gift.ref or "").strip()[:200] or None,
    )
    # No savepoint: on SQLite (pysqlite) a SAVEPOINT outside a transaction starts one that its
    # RELEASE commits, and the pending row would outlive a Stripe failure below. After a refused
    # flush the caller rolls back, as after any DonationError.
    db.session.add(donation)
    try:
        db.session.flush()
    except IntegrityError as exc:  # staff changed the campaign's currency a moment ago
        raise DonationError("changed") from exc
    metadata = {
        "kind": KIND,
        "campaign": campaign.slug,
        "outlet": outlet.slug if outlet else "all",
        "donation_id": str(donation.id),
    }
    price_data: dict[str, Any] = {
        "currency": campaign.currency,
        "unit_amount": amount,
        "product": ensure_product(campaign),
    }
    base = current_app.config["BASE_URL"]
    params: dict[str, Any] = {
        "line_items": [{"quantity": 1, "price_data": price_data}],
        "metadata": metadata,
        "success_url": f"{base}/fundraisers/{campaign.slug}/thanks?donation={donation.id}"
        "&session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": f"{base}/fundraisers/{campaign.slug}",
        "locale": gateway.checkout_locale(donation.locale),
    }
    if user is not None:
        params["client_reference_id"] = str(user.id)
        if user.stripe_customer_id:
            params["customer"] = user.stripe_customer_id
        else:
            params["customer_email"] = user.email
    if frequency == Frequency.monthly:
        price_data["recurring"] = {"interval": "month"}
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["mode"] = "payment"
        params["payment_intent_data"] = {
            "metadata": metadata,
            "description": f"Gift to {campaign.title}"[:200],
        }
    session = gateway.create_checkout_session(params, f"donation-checkout-{donation.id}")
    donation.stripe_checkout_session_id = session.id
    audit.record("donation.started", "campaign", campaign.id, actor_id=user.id if user else None,
                 donation=donation.id, amount=amount, frequency=frequency.value,
                 outlet=outlet.slug if outlet else None)  # fmt: skip
    return donation, session.url or ""


# --- recording gifts from Stripe ---------------------------------------------------------------


def _donation_for(metadata: dict[str, str], lock: bool = True) -> Donation | None:
    """Our donation named by Stripe metadata, locked so concurrent events touching it queue up.

    The lock is always taken before the ledger write (which locks the campaign row), so
    concurrent webhooks acquire rows in one order and cannot deadlock.
    """
    if metadata.get("kind") != KIND:
        return None
    donation_id = parse_id(metadata.get("donation_id"))  # metadata is text anyone may edit
    if donation_id is None:
        return None
    query = select(Donation).where(Donation.id == donation_id)
    if lock:  # and re-read: the row may have been loaded (unlocked) before
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def attribution(donation: Donation) -> dict[str, Any]:
    """The ledger columns every row of this donation carries."""
    return {
        "user_id": donation.user_id,
        "campaign_id": donation.campaign_id,
        "outlet_id": donation.outlet_id,
        "donation_id": donation.id,
    }


def describe(donation: Donation) -> str:
    """The ledger description, shown on the donor's account page."""
    target = donation.outlet.name if donation.outlet else donation.campaign.title
    prefix = "Monthly gift to" if donation.frequency == Frequency.monthly else "Gift to"
    return f"{prefix} {target}"[:255]


def sync_checkout(
    session: CheckoutSession,
    intent: PaymentIntent | None = None,
    subscription: Subscription | None = None,
    invoice: Invoice | None = None,
) -> Donation | None:
    """Mirror a completed Checkout Session (re-read from Stripe) into its donation.

    Stripe is read first (what the session made: its payment intent, or subscription and latest
    invoice, unless the caller passes them, read with the session by
    gateway.retrieve_completed_checkout), then the donation is locked and written, so no Stripe
    call waits under the row locks."""
    if session.status != "complete" or _donation_for(session.metadata, lock=False) is None:
        return None
    if session.mode == "payment" and session.payment_intent:
        intent = intent or gateway.retrieve_payment_intent(session.payment_intent)
    elif session.mode == "subscription" and session.subscription:
        subscription = subscription or gateway.retrieve_subscription(session.subscription)
        if subscription.latest_invoice_id:
            invoice = invoice or gateway.retrieve_invoice(subscription.latest_invoice_id)
    donation = _donation_for(session.metadata)
    donation.stripe_checkout_session_id = donation.stripe_checkout_session_id or session.id
    if not donation.email and session.customer_email:
        donation.email = session.customer_email.strip().lower()
    if donation.user_id is None and session.customer:
        donation.user_id = db.session.scalar(
            select(User.id).where(User.stripe_customer_id == session.customer)
        )
    # The receipts and rewards follow once, below, now that the donor's e-mail is known.
    if intent is not None:
        record_payment(intent, donation, follow_up=False)
    elif subscription is not None:
        sync_donation_subscription(subscription, donation)
        if invoice is not None:
            record_invoice(invoice, donation, follow_up=False)
    _after_payment(donation)
    return donation


def record_payment(
    intent: PaymentIntent, donation: Donation | None = None, follow_up: bool = True
) -> bool:
    """Add a one-time gift's payment to the ledger (once); True when the row is new.

    With `follow_up`, queue the receipt and grant the rewards (the caller does it otherwise)."""
    donation = donation or _donation_for(intent.metadata)
    if donation is None or intent.status != "succeeded" or intent.amount_received <= 0:
        return False
    if intent.currency != donation.currency:
        log.error(
            "payment %s in %s for a %s campaign", intent.id, intent.currency, donation.currency
        )
        _unattributed(donation, intent.id, intent.amount_received, intent.currency,
                      intent.created, intent.id)  # fmt: skip
        return False
    if donation.status == DonationStatus.pending:
        donation.status = DonationStatus.paid
        donation.paid_at = intent.created
    row = ledger.record(
        EntryKind.gift,
        intent.amount_received,
        intent.currency,
        intent.id,
        intent.created,
        payment_intent_id=intent.id,
        description=describe(donation),
        **attribution(donation),
    )
    if follow_up:
        _after_payment(donation)
    return row is not None


def record_invoice(
    invoice: Invoice,
    donation: Donation | None = None,
    payment_intent_id: str | None = None,
    follow_up: bool = True,
) -> bool:
    """Add one paid invoice of a monthly gift to the ledger (once); True when the row is new.

    The payment intent is only needed to match a later refund; the ledger's origin resolvers
    link it then, so this hot path makes no extra Stripe call.
    """
    if invoice.status != "paid" or invoice.amount_paid <= 0:
        return False
    donation = donation or _donation_for(invoice.subscription_metadata)
    if donation is None:
        return False
    if invoice.currency != donation.currency:
        log.error(
            "invoice %s in %s for a %s campaign", invoice.id, invoice.currency, donation.currency
        )
        _unattributed(donation, invoice.id, invoice.amount_paid, invoice.currency,
                      invoice.paid_at or invoice.created, payment_intent_id)  # fmt: skip
        return False
    if donation.status == DonationStatus.pending:
        donation.status = DonationStatus.active
    paid_at = invoice.paid_at or invoice.created
    if donation.paid_at is None or paid_at < donation.paid_at:
        donation.paid_at = paid_at  # the first month's, in whatever order invoices are recorded
    if invoice.subscription_id and not donation.stripe_subscription_id:
        donation.stripe_subscription_id = invoice.subscription_id
    row = ledger.record(
        EntryKind.monthly_gift,
        invoice.amount_paid,
        invoice.currency,
        invoice.id,
        invoice.paid_at or invoice.created,
        payment_intent_id=payment_intent_id,
        description=describe(donation),
        receipt_url=invoice.hosted_invoice_url,
        **attribution(donation),
    )
    if follow_up:
        _after_payment(donation)
    return row is not None


def _unattributed(donation: Donation, object_id: str, amount: int, currency: str, at,
                  payment_intent_id: str | None) -> None:  # fmt: skip
    """A gift paid in another currency than its campaign's: not counted, listed for staff."""
    ledger.record_unattributed(
        "payment", "currency", amount, stripe_object_id=object_id, currency=currency,
        status="paid", occurred_at=at, payment_intent_id=payment_intent_id,
        detail=f"gift {donation.id} to {donation.campaign.slug} ({donation.currency.upper()})",
    )  # fmt: skip


def sync_donation_subscription(subscription: Subscription, donation: Donation | None = None):
    """Mirror a monthly gift's subscription: an ended subscription ends the monthly gift."""
    donation = donation or _donation_for(subscription.metadata)
    if donation is None:
        return None
    donation.stripe_subscription_id = donation.stripe_subscription_id or subscription.id
    if subscription.status in ("canceled", "incomplete_expired"):
        if donation.status != DonationStatus.ended:
            donation.status = DonationStatus.ended
            donation.ended_at = subscription.ended_at or subscription.canceled_at or utcnow()
    elif (
        subscription.status in ("active", "past_due") and donation.status == DonationStatus.pending
    ):
        donation.status = DonationStatus.active
    if subscription.status in ("active", "past_due", "trialing"):
        donation.current_period_end = subscription.current_period_end  # the next payment
    return donation


def stop_monthly_gift(donation: Donation, actor: User) -> Donation:
    """The donor stops a monthly gift: its subscription is cancelled at once, no further payment.

    The donation ends from the cancelled subscription Stripe returns, so the donor's page says
    so straight away; customer.subscription.deleted later finds it ended already. A second stop
    (a double click) finds the subscription cancelled and ends the donation all the same.
    """
    try:
        subscription = gateway.cancel_subscription(
            donation.stripe_subscription_id, f"monthly gift {donation.id} stopped by the donor"
        )
    except gateway.PaymentProviderUnreachable:
        raise  # asking again would double the reader's wait
    except gateway.PaymentProviderError:
        subscription = gateway.retrieve_subscription(donation.stripe_subscription_id)
        if subscription.status not in ("canceled", "incomplete_expired"):
            raise
    sync_donation_subscription(subscription, donation)
    audit.record("donation.stopped", "user", donation.user_id, actor_id=actor.id,
                 donation=donation.id, subscription=subscription.id)  # fmt: skip
    db.session.flush()
    return donation


def _payments(donation: Donation) -> list[LedgerEntry]:
    """The donation's payment rows in the ledger (refunds and disputes left out), oldest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.donation_id == donation.id, LedgerEntry.reverses_id.is_(None))
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )


def _after_payment(donation: Donation) -> None:
    """Once payments are in the ledger: one receipt per payment when the donor is known (dedupe
    keys make repeats free, whichever event comes first), and the reward perks."""
    payments = _payments(donation)
    if not payments:
        return
    if donation.email:
        for payment in payments:
            key = (
                f"donation-receipt-{payment.stripe_object_id}"
                if donation.frequency == Frequency.monthly
                else f"donation-receipt-{donation.id}"
            )
            queue_receipt(donation, payment, key)
    grant_rewards(donation, max(payment.amount for payment in payments))


def receipt_number(donation: Donation, payment: LedgerEntry) -> str:
    """The number a receipt carries: D-<donation> for a gift paid once, D-<donation>-<ledger row>
    for each month of a monthly gift, so that every payment has its own."""
    if donation.frequency == Frequency.monthly:
        return f"D-{donation.id}-{payment.id}"
    return f"D-{donation.id}"


def queue_receipt(donation: Donation, payment: LedgerEntry, dedupe_key: str) -> None:
    """The thank-you receipt, once per payment (dedupe key): fit for the donor's records, with
    the amount and its currency, the date, the campaign and outlet, who received it and a
    receipt number; in the language the donor gave in."""
    campaign = donation.campaign
    base = current_app.config["BASE_URL"]
    year = payment.occurred_at.year
    address = statement_links.donor_address(donation)
    statement = statement_links.statement_url(address, year) if address else ""
    queue_mail(
        "donation_receipt",
        donation.email,
        {
            "campaign": campaign.title,
            "outlet": donation.outlet.name if donation.outlet else "",
            "amount": money(payment.amount, payment.currency),
            "currency": payment.currency.upper(),
            "paid_on": date(payment.occurred_at),
            "receipt_number": receipt_number(donation, payment),
            "host": host_for(campaign).as_receipt(),
            "monthly": donation.frequency == Frequency.monthly,
            "offline": donation.offline,
            "donation_id": donation.id,
            "campaign_url": f"{base}/fundraisers/{campaign.slug}",
            # The year's statement of all the donor's gifts, behind a signed link.
            "statement_url": f"{statement}?lang={donation.locale}" if statement else "",
            "statement_year": year,
        },
        locale=donation.locale,
        dedupe_key=dedupe_key,
    )


def resolve_gift_origin(origin: origins.Origin) -> None:
    """Origin resolver: record (or link) a gift whose refund or dispute arrived first.

    A one-time gift is recorded from its payment intent, a monthly gift's month from the invoice
    it paid; Stripe was read before (origins.read_origin), so no call is made under the locks.
    """
    intent = origin.payment_intent
    if intent is not None and intent.metadata.get("kind") == KIND:
        record_payment(intent)
        return
    if not origin.invoice_id:
        return
    entry = ledger.entry_for(origin.invoice_id)
    if entry is not None:
        if entry.kind == EntryKind.monthly_gift:
            ledger.link_payment_intent(entry, origin.payment_intent_id)
    elif origin.invoice is not None and origin.invoice.subscription_metadata.get("kind") == KIND:
        record_invoice(origin.invoice, payment_intent_id=origin.payment_intent_id)


origins.RESOLVERS.append(resolve_gift_origin)
origins.FEE_RESOLVERS.append(resolve_gift_origin)  # a gift's fee may arrive before the gift
