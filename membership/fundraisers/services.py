"""Fundraiser services: giving through Checkout, recording gifts from Stripe, progress, staff.

Every gift is a ledger row keyed by the Stripe object that moved the money (payment intent for a
one-time gift, invoice for each month of a monthly gift, `offline_donation_<id>` for a gift staff
record by hand). Figures are queries over those rows, never counters updated in place.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import markdown
import nh3
from flask import current_app
from markupsafe import Markup
from sqlalchemy import String, case, cast, func, select, update
from sqlalchemy.exc import IntegrityError

from membership import audit
from membership.accounts.models import User
from membership.billing import stripe_gateway as gateway
from membership.billing.stripe_objects import CheckoutSession, Invoice, PaymentIntent, Subscription
from membership.extensions import db
from membership.fundraisers.models import (
    Campaign,
    CampaignStatus,
    Donation,
    DonationStatus,
    Frequency,
    Milestone,
    Outlet,
    RewardTier,
)
from membership.gifts.services import add_months
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.mail import queue_mail
from membership.money import MoneyError, format_money, to_minor
from membership.perks.models import GrantSource, PerkGrant
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

KIND = "donation"  # Stripe metadata `kind` of every fundraiser object
MAX_MESSAGE = 500
MAX_PUBLIC_NAME = 80
MAX_AMOUNT = 2**31 - 1  # amounts are INTEGER columns: a larger value would fail the INSERT


class DonationError(Exception):
    """A gift that cannot go to Checkout; str() is a code the view turns into a message."""


# --- reading campaigns ------------------------------------------------------------------------


def campaign_by_slug(slug: str) -> Campaign | None:
    """The campaign with this slug, any status."""
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def live_campaign() -> Campaign | None:
    """The live campaign to feature on the front page: open now, ending soonest."""
    now = utcnow()
    return db.session.scalar(
        select(Campaign)
        .where(
            Campaign.status == CampaignStatus.live,
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
        )
        .order_by(Campaign.ends_at, Campaign.id)
        .limit(1)
    )


def teaser() -> dict[str, Any] | None:
    """The live campaign and its figures for the front page, or None."""
    campaign = live_campaign()
    if campaign is None:
        return None
    snap = snapshot(campaign.slug)
    return {
        "campaign": campaign,
        "figures": snap.figures,
        "days_left": days_left(campaign),
        "has_ended": False,
    }


def is_open(campaign: Campaign, at: datetime | None = None) -> bool:
    """Whether the campaign takes gifts now: live, started and not past its end."""
    at = at or utcnow()
    return campaign.status == CampaignStatus.live and campaign.starts_at <= at < campaign.ends_at


def has_ended(campaign: Campaign, at: datetime | None = None) -> bool:
    """Ended by staff or by its end date."""
    at = at or utcnow()
    return campaign.status == CampaignStatus.ended or at >= campaign.ends_at


def render_story(story: str) -> Markup:
    """Markdown to HTML, cleaned by nh3 (no scripts, no event handlers, safe links)."""
    html = markdown.markdown(story or "", extensions=["extra"], output_format="html")
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S704


def days_left(campaign: Campaign, at: datetime | None = None) -> int:
    """Whole days until the end, rounded up; 0 once ended."""
    at = at or utcnow()
    remaining = campaign.ends_at - at
    if remaining <= timedelta(0):
        return 0
    return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)


def presets(campaign: Campaign) -> list[int]:
    """The preset amounts shown on the form (minor units), within the campaign's bounds."""
    return [
        a for a in campaign.preset_amounts or [] if campaign.min_amount <= a <= campaign.max_amount
    ]


# --- giving -----------------------------------------------------------------------------------


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
    try:
        with db.session.begin_nested():
            db.session.add(donation)
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
    donation_id = metadata.get("donation_id", "")
    if not donation_id.isdigit():
        return None
    query = select(Donation).where(Donation.id == int(donation_id))
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def _attribution(donation: Donation) -> dict[str, Any]:
    """The ledger columns every row of this donation carries."""
    return {
        "user_id": donation.user_id,
        "campaign_id": donation.campaign_id,
        "outlet_id": donation.outlet_id,
        "donation_id": donation.id,
    }


def _describe(donation: Donation) -> str:
    """The ledger description, shown on the donor's account page."""
    target = donation.outlet.name if donation.outlet else donation.campaign.title
    prefix = "Monthly gift to" if donation.frequency == Frequency.monthly else "Gift to"
    return f"{prefix} {target}"[:255]


def sync_checkout(session: CheckoutSession) -> Donation | None:
    """Mirror a completed Checkout Session (re-read from Stripe) into its donation."""
    donation = _donation_for(session.metadata)
    if donation is None or session.status != "complete":
        return None
    donation.stripe_checkout_session_id = donation.stripe_checkout_session_id or session.id
    if not donation.email and session.customer_email:
        donation.email = session.customer_email.strip().lower()
    if donation.user_id is None and session.customer:
        donation.user_id = db.session.scalar(
            select(User.id).where(User.stripe_customer_id == session.customer)
        )
    # The receipts and rewards follow once, below, now that the donor's e-mail is known.
    if session.mode == "payment" and session.payment_intent:
        intent = gateway.retrieve_payment_intent(session.payment_intent)
        record_payment(intent, donation, follow_up=False)
    elif session.mode == "subscription" and session.subscription:
        subscription = gateway.retrieve_subscription(session.subscription)
        sync_donation_subscription(subscription, donation)
        if subscription.latest_invoice_id:
            invoice = gateway.retrieve_invoice(subscription.latest_invoice_id)
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
        description=_describe(donation),
        **_attribution(donation),
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
        return False
    if donation.status == DonationStatus.pending:
        donation.status = DonationStatus.active
        donation.paid_at = invoice.paid_at or invoice.created
    if invoice.subscription_id and not donation.stripe_subscription_id:
        donation.stripe_subscription_id = invoice.subscription_id
    row = ledger.record(
        EntryKind.monthly_gift,
        invoice.amount_paid,
        invoice.currency,
        invoice.id,
        invoice.paid_at or invoice.created,
        payment_intent_id=payment_intent_id,
        description=_describe(donation),
        receipt_url=invoice.hosted_invoice_url,
        **_attribution(donation),
    )
    if follow_up:
        _after_payment(donation)
    return row is not None


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
    return donation


def _payments(donation: Donation) -> list[LedgerEntry]:
    """The donation's payment rows in the ledger (refunds and disputes left out), oldest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.donation_id == donation.id, LedgerEntry.amount > 0)
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
            _queue_receipt(donation, payment.amount, key)
    grant_rewards(donation, max(payment.amount for payment in payments))


def _queue_receipt(donation: Donation, amount: int, dedupe_key: str) -> None:
    """The thank-you receipt, once per payment (dedupe key)."""
    campaign = donation.campaign
    base = current_app.config["BASE_URL"]
    queue_mail(
        "donation_receipt",
        donation.email,
        {
            "campaign": campaign.title,
            "outlet": donation.outlet.name if donation.outlet else "",
            "amount": format_money(amount, donation.currency),
            "monthly": donation.frequency == Frequency.monthly,
            "offline": donation.offline,
            "donation_id": donation.id,
            "campaign_url": f"{base}/fundraisers/{campaign.slug}",
        },
        locale=donation.locale,
        dedupe_key=dedupe_key,
    )


def grant_rewards(donation: Donation, amount: int) -> list[PerkGrant]:
    """Grant the reward tiers a gift reaches (donors with an account only), once per donation.

    Per perk the longest qualifying tier wins; the grant starts when the gift was paid. Refunds
    and lost disputes already in the ledger then end it where they would have (end_rewards).
    """
    if donation.user_id is None:
        return []
    best: dict[int, RewardTier] = {}
    for tier in donation.campaign.reward_tiers:
        current = best.get(tier.perk_id)
        if amount >= tier.minimum and (current is None or tier.months > current.months):
            best[tier.perk_id] = tier
    grants = []
    ref = f"donation-{donation.id}"
    start = donation.paid_at or utcnow()
    for perk_id, tier in best.items():
        exists = db.session.scalar(
            select(PerkGrant.id).where(
                PerkGrant.user_id == donation.user_id,
                PerkGrant.perk_id == perk_id,
                PerkGrant.source == GrantSource.reward,
                PerkGrant.source_ref == ref,
            )
        )
        if exists is not None:
            continue
        grant = PerkGrant(
            user_id=donation.user_id,
            perk_id=perk_id,
            source=GrantSource.reward,
            source_ref=ref,
            starts_at=start,
            ends_at=add_months(start, tier.months),
            reason=f"reward: {tier.title or donation.campaign.title}"[:255],
        )
        db.session.add(grant)
        db.session.flush()
        audit.record("perk.reward", "user", donation.user_id, perk=tier.perk.slug,
                     donation=donation.id, months=tier.months)  # fmt: skip
        grants.append(grant)
    if grants:
        end_rewards(donation)
    return grants


REWARD_ENDED = "reward ended: the gift was refunded or disputed"


def _crossing(payments: list[LedgerEntry], reversals: list[LedgerEntry], minimum: int):
    """When the gift stopped reaching `minimum`: None while one of its payments still does.

    Each payment nets its own refunds and lost disputes in the order they happened; the gift
    stops qualifying when the last payment that reached the minimum falls below it.
    """
    moments = []
    for payment in payments:
        if payment.amount < minimum:
            continue
        net = payment.amount
        fell = None
        for row in reversals:
            if row.reverses_id == payment.id:
                net += row.amount
                if net < minimum:
                    fell = row.occurred_at
                    break
        if fell is None:
            return None
        moments.append(fell)
    return max(moments) if moments else None


def _entitled_until(
    tiers: list[RewardTier],
    payments: list[LedgerEntry],
    reversals: list[LedgerEntry],
    start: datetime,
) -> datetime | None:
    """Until when the gift's payments, net of reversals, earn a perk from these tiers.

    A tier the gift still reaches lasts its months; one it reached before a refund or a lost
    dispute lasts until that moment (never past its months). The longest wins, so a gift that
    still reaches a lower tier keeps the perk for that tier's months. None: no tier was reached.
    """
    ends = []
    for tier in tiers:
        if not any(payment.amount >= tier.minimum for payment in payments):
            continue
        end = add_months(start, tier.months)
        fell = _crossing(payments, reversals, tier.minimum)
        ends.append(end if fell is None else min(end, fell))
    return max(ends) if ends else None


def end_rewards(donation: Donation) -> list[PerkGrant]:
    """End the donation's reward grants its net gift no longer earns (refunds, lost disputes).

    The end is worked out from the ledger rows alone (when each payment fell below a tier's
    minimum), and a grant's end only ever moves earlier, so duplicated or reordered refund and
    dispute events end in the same state. The grant stays, revoked, with the reason.
    """
    if donation.user_id is None:
        return []
    grants = list(
        db.session.scalars(
            select(PerkGrant).where(
                PerkGrant.user_id == donation.user_id,
                PerkGrant.source == GrantSource.reward,
                PerkGrant.source_ref == f"donation-{donation.id}",
            )
        )
    )
    if not grants:
        return []
    rows = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.donation_id == donation.id)
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )
    payments = [row for row in rows if row.amount > 0]
    reversals = [row for row in rows if row.amount < 0]
    if not reversals:
        return []
    ended = []
    for grant in grants:
        tiers = [t for t in donation.campaign.reward_tiers if t.perk_id == grant.perk_id]
        until = _entitled_until(tiers, payments, reversals, grant.starts_at)
        if until is None or (grant.ends_at is not None and until >= grant.ends_at):
            continue  # no current tier to judge by (staff removed it), or still fully earned
        until = max(until, grant.starts_at)
        if grant.revoked_at is not None and grant.revoked_at <= until:
            continue
        grant.revoked_at = until
        grant.reason = REWARD_ENDED
        audit.record("perk.reward_ended", "user", donation.user_id, perk=grant.perk.slug,
                     donation=donation.id, until=until.isoformat())  # fmt: skip
        ended.append(grant)
    if ended:
        db.session.flush()
    return ended


def resolve_gift_payment(payment_intent_id: str) -> None:
    """Ledger origin resolver: record a one-time gift's payment when a refund arrives first."""
    intent = gateway.retrieve_payment_intent(payment_intent_id)
    if intent.metadata.get("kind") == KIND:
        record_payment(intent)


def resolve_gift_invoice(payment_intent_id: str) -> None:
    """Ledger origin resolver: link (or record) the monthly-gift invoice a payment intent paid."""
    invoice_id = gateway.invoice_for_payment_intent(payment_intent_id)
    if not invoice_id:
        return
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.stripe_object_id == invoice_id))
    if entry is not None:
        if entry.payment_intent_id is None:
            entry.payment_intent_id = payment_intent_id
            db.session.flush()
        return
    invoice = gateway.retrieve_invoice(invoice_id)
    if invoice.subscription_metadata.get("kind") == KIND:
        record_invoice(invoice, payment_intent_id=payment_intent_id)


ledger.ORIGIN_RESOLVERS.extend([resolve_gift_payment, resolve_gift_invoice])


def bump_version(campaign_id: int) -> None:
    """A change the public figures show: a new cache key and ETag for this campaign."""
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(totals_version=Campaign.totals_version + 1)
        .execution_options(synchronize_session=False)
    )


def _on_new_entry(entry: LedgerEntry) -> None:
    """Ledger hook: every new row of a campaign bumps its version; a refund or lost dispute of a
    gift ends the rewards it no longer earns."""
    if entry.campaign_id is not None:
        bump_version(entry.campaign_id)
    if entry.donation_id is not None and entry.amount < 0:
        donation = db.session.get(Donation, entry.donation_id)
        if donation is not None:
            end_rewards(donation)


ledger.ON_NEW_ENTRY.append(_on_new_entry)


# --- offline gifts and moderation (staff) ------------------------------------------------------


def record_offline_gift(
    campaign: Campaign,
    amount: int,
    staff: User,
    *,
    outlet: Outlet | None = None,
    received_at: datetime | None = None,
    email: str = "",
    public_name: str = "",
    message: str = "",
    note: str = "",
) -> Donation:
    """A gift that reached an outlet outside Stripe (bank transfer, cash), recorded by staff."""
    if amount <= 0:
        raise DonationError("amount")
    if outlet is not None and outlet.campaign_id != campaign.id:
        raise DonationError("outlet")
    received_at = received_at or utcnow()
    donation = Donation(
        campaign_id=campaign.id,
        outlet_id=outlet.id if outlet else None,
        email=email.strip().lower() or None,
        amount=amount,
        currency=campaign.currency,
        frequency=Frequency.once,
        status=DonationStatus.paid,
        public_name=" ".join(public_name.split())[:MAX_PUBLIC_NAME],
        message=message.strip()[:MAX_MESSAGE],
        offline=True,
        note=note.strip()[:255],
        paid_at=received_at,
    )
    db.session.add(donation)
    db.session.flush()
    db.session.refresh(donation, ["campaign", "outlet"])
    ledger.record(
        EntryKind.offline,
        amount,
        campaign.currency,
        f"offline_donation_{donation.id}",
        received_at,
        description=("Bank transfer: " + _describe(donation))[:255],
        **_attribution(donation),
    )
    audit.record("donation.offline", "campaign", campaign.id, actor_id=staff.id,
                 donation=donation.id, amount=amount, note=donation.note)  # fmt: skip
    if donation.email:
        _queue_receipt(donation, amount, f"donation-receipt-{donation.id}")
    return donation


def set_hidden(donation: Donation, hidden: bool, staff: User) -> None:
    """Hide a wall entry (or show it again); the progress version moves with it."""
    if donation.hidden == hidden:
        return
    donation.hidden = hidden
    bump_version(donation.campaign_id)
    audit.record("donation.hidden" if hidden else "donation.shown", "campaign",
                 donation.campaign_id, actor_id=staff.id, donation=donation.id)  # fmt: skip


# --- progress --------------------------------------------------------------------------------


def split_shares(
    campaign_id: int, outlet_ids: list[int], *criteria, key=None
) -> dict[tuple[Any, int], int]:
    """Each outlet's part of the campaign's ledger rows matching `criteria`, per value of `key`."""
    # A row with an outlet counts for that outlet. A row without one (a split gift, or its refund)
    # is shared equally among the campaign's outlets in display order: |amount| // N each, and the
    # |amount| % N units left over go one each to the first outlets, with the row's sign. A full
    # refund therefore takes back exactly what its gift gave, and the shares add up to the total.
    # Both the public progress and the staff report read their outlet figures from here.
    keys = [key] if key is not None else []
    known = set(outlet_ids)
    where = (LedgerEntry.campaign_id == campaign_id, *criteria)
    shares: dict[tuple[Any, int], int] = {}
    direct = db.session.execute(
        select(*keys, LedgerEntry.outlet_id, func.sum(LedgerEntry.amount))
        .where(*where, LedgerEntry.outlet_id.is_not(None))
        .group_by(*keys, LedgerEntry.outlet_id)
    ).all()
    for *group, outlet_id, amount in direct:
        if outlet_id in known:
            slot = (group[0] if group else None, outlet_id)
            shares[slot] = shares.get(slot, 0) + int(amount)
    n = len(outlet_ids)
    if n == 0:
        return shares
    magnitude = func.abs(LedgerEntry.amount)
    positive = case((LedgerEntry.amount > 0, 1), else_=0)
    remainder = magnitude % n
    groups = db.session.execute(
        select(*keys, positive, remainder, func.sum(magnitude // n), func.count())
        .where(*where, LedgerEntry.outlet_id.is_(None))
        .group_by(*keys, positive, remainder)
    ).all()
    for *group, is_positive, rest, quotient_sum, count in groups:
        sign = 1 if is_positive else -1
        for index, outlet_id in enumerate(outlet_ids):
            slot = (group[0] if group else None, outlet_id)
            part = sign * (int(quotient_sum) + (int(count) if index < rest else 0))
            shares[slot] = shares.get(slot, 0) + part
    return shares


def outlet_shares(campaign_id: int, outlet_ids: list[int]) -> dict[int, int]:
    """Each outlet's part of the campaign's money, exact to the minor unit (see split_shares)."""
    shares = split_shares(campaign_id, outlet_ids)
    return {outlet_id: shares.get((None, outlet_id), 0) for outlet_id in outlet_ids}


def raised(campaign_id: int) -> int:
    """Money raised: gifts, monthly payments and offline gifts, less refunds and lost disputes."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.campaign_id == campaign_id
            )
        )
    )


def donor_key():
    """SQL: who a donation is from: the account, else the e-mail, else the donation itself."""
    return func.coalesce(
        "u" + cast(Donation.user_id, String),
        "e" + Donation.email,
        "d" + cast(Donation.id, String),
    )


def net_donations(campaign_id: int, *criteria):
    """SQL: ids of the campaign's donations whose ledger rows (matching `criteria`) net above 0."""
    return (
        select(LedgerEntry.donation_id)
        .where(
            LedgerEntry.campaign_id == campaign_id, LedgerEntry.donation_id.is_not(None), *criteria
        )
        .group_by(LedgerEntry.donation_id)
        .having(func.sum(LedgerEntry.amount) > 0)
    )


def backers(campaign_id: int, *criteria) -> int:
    """Distinct donors (account, else e-mail) whose gifts to the campaign net more than zero."""
    net = net_donations(campaign_id, *criteria)
    return int(
        db.session.scalar(
            select(func.count(func.distinct(donor_key()))).where(Donation.id.in_(net))
        )
    )


def progress(campaign: Campaign) -> dict[str, Any]:
    """The public figures, in the API's shape (amounts in minor units)."""
    outlets = list(campaign.outlets)
    total = raised(campaign.id)
    shares = outlet_shares(campaign.id, [o.id for o in outlets])
    return {
        "slug": campaign.slug,
        "currency": campaign.currency,
        "goal": campaign.goal,
        "raised": total,
        "backers": backers(campaign.id),
        "percent": max(0, total) * 100 // campaign.goal,
        "ends_at": campaign.ends_at.isoformat().replace("+00:00", "Z"),
        "outlets": [{"slug": o.slug, "name": o.name, "raised": shares[o.id]} for o in outlets],
    }


@dataclass(frozen=True)
class Snapshot:
    """The progress of one campaign at one version: its JSON body and strong ETag."""

    campaign_id: int
    status: str
    version: int
    etag: str
    body: bytes
    figures: dict[str, Any]


class _Memo:
    """Per-process memo of snapshots, keyed by slug and checked against the version.

    Correctness never depends on it: a snapshot is reused only while the campaign's version in
    the database is unchanged, and the version check itself is skipped for at most
    FUNDRAISER_PROGRESS_FRESHNESS seconds (default 0.5), well inside the one second in which a
    gift must show.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, Snapshot]] = {}

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


MEMO = _Memo()


def fresh_snapshot(slug: str, freshness: float) -> Snapshot | None:
    """The memo's snapshot when its version was checked less than `freshness` seconds ago."""
    cached = MEMO.entries.get(slug)
    if cached is not None and time.monotonic() - cached[0] < freshness:
        return cached[1]
    return None


def snapshot(slug: str, min_version: int | None = None) -> Snapshot | None:
    """The current progress snapshot of a campaign (None when there is no such campaign); with
    `min_version`, never one older than that version (the caller read it from the database)."""
    freshness = float(current_app.config.get("FUNDRAISER_PROGRESS_FRESHNESS", 0.5))
    now = time.monotonic()
    cached = MEMO.entries.get(slug)
    if (
        cached is not None
        and now - cached[0] < freshness
        and (min_version is None or cached[1].version >= min_version)
    ):
        return cached[1]
    row = db.session.execute(
        select(Campaign.id, Campaign.totals_version, Campaign.status).where(Campaign.slug == slug)
    ).first()
    if row is None:
        MEMO.entries.pop(slug, None)
        return None
    campaign_id, version, status = row
    if cached is not None and (cached[1].campaign_id, cached[1].version) == (campaign_id, version):
        MEMO.entries[slug] = (now, cached[1])
        return cached[1]
    campaign = db.session.get(Campaign, campaign_id)
    figures = progress(campaign)
    body = json.dumps(figures, separators=(",", ":"), sort_keys=True).encode()
    snap = Snapshot(
        campaign_id=campaign_id,
        status=str(status.value if hasattr(status, "value") else status),
        version=version,
        etag=f"fr-{campaign_id}-{version}",
        body=body,
        figures=figures,
    )
    with MEMO.lock:
        if len(MEMO.entries) > 1000:
            MEMO.entries.clear()
        MEMO.entries[slug] = (now, snap)
    return snap


# --- the wall and the account page -----------------------------------------------------------


def wall(campaign_id: int, limit: int = 50) -> list[Donation]:
    """Supporters who chose to show a name, whose gift arrived, not hidden by staff."""
    return list(
        db.session.scalars(
            select(Donation)
            .where(
                Donation.campaign_id == campaign_id,
                Donation.status != DonationStatus.pending,
                Donation.public_name != "",
                Donation.hidden.is_(False),
            )
            .order_by(Donation.paid_at.desc(), Donation.id.desc())
            .limit(limit)
        )
    )


def donations_of(user_id: int) -> list[Donation]:
    """A reader's donations that reached us, newest first."""
    return list(
        db.session.scalars(
            select(Donation)
            .where(Donation.user_id == user_id, Donation.status != DonationStatus.pending)
            .order_by(Donation.created_at.desc(), Donation.id.desc())
        )
    )


def reached(figures: dict[str, Any], milestone: Milestone) -> bool:
    """Whether the raised amount has reached a milestone."""
    return figures["raised"] >= milestone.amount


# --- campaign editing (staff) ------------------------------------------------------------------


def parse_amount(text: str, currency: str) -> int:
    """Major units typed by staff to minor units; raises DonationError('amount')."""
    try:
        return to_minor(text or "", currency, maximum=MAX_AMOUNT)
    except MoneyError as exc:
        raise DonationError("amount") from exc


def has_gifts(campaign_id: int) -> bool:
    """Whether the campaign has any donation (even one still at Checkout) or ledger row."""
    donation = select(Donation.id).where(Donation.campaign_id == campaign_id).limit(1)
    money = select(LedgerEntry.id).where(LedgerEntry.campaign_id == campaign_id).limit(1)
    return db.session.scalar(donation) is not None or db.session.scalar(money) is not None


def save_campaign(campaign: Campaign | None, data: dict[str, Any], staff: User) -> Campaign:
    """Create or update a campaign from staff input (amounts in major units, times aware UTC).

    The currency cannot change once a gift exists (pending or paid) or money arrived: one
    currency per campaign, so that no total ever mixes two.
    """
    currency = data["currency"].lower()
    if campaign is not None and currency != campaign.currency and has_gifts(campaign.id):
        raise DonationError("currency")
    slug_owner = db.session.scalar(select(Campaign.id).where(Campaign.slug == data["slug"]))
    if slug_owner is not None and (campaign is None or slug_owner != campaign.id):
        raise DonationError("slug")
    if data["ends_at"] <= data["starts_at"]:
        raise DonationError("dates")
    minimum = parse_amount(data["min_amount"], currency)
    maximum = parse_amount(data["max_amount"], currency)
    if maximum < minimum:
        raise DonationError("bounds")
    preset_list = [
        parse_amount(part, currency)
        for part in (data.get("presets") or "").split(",")
        if part.strip()
    ]
    if campaign is None:
        campaign = Campaign(totals_version=0)
        db.session.add(campaign)
    campaign.title = data["title"].strip()
    campaign.slug = data["slug"]
    campaign.story = data.get("story") or ""
    campaign.goal = parse_amount(data["goal"], currency)
    campaign.currency = currency
    campaign.starts_at = data["starts_at"]
    campaign.ends_at = data["ends_at"]
    campaign.status = CampaignStatus(data["status"])
    campaign.min_amount = minimum
    campaign.max_amount = maximum
    campaign.preset_amounts = preset_list
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a gift arrived between the check above and this write
        raise DonationError("currency") from exc
    bump_version(campaign.id)
    audit.record("campaign.saved", "campaign", campaign.id, actor_id=staff.id,
                 slug=campaign.slug, status=campaign.status.value)  # fmt: skip
    return campaign


def save_outlet(
    campaign: Campaign, outlet: Outlet | None, data: dict[str, Any], staff: User
) -> Outlet:
    """Add or edit an outlet (slug unique within the campaign, never "all")."""
    if (data["slug"] or "").strip().lower() == "all":
        raise DonationError("reserved")  # the donation form's "shared by all outlets"
    clash = next((o for o in campaign.outlets if o.slug == data["slug"] and o is not outlet), None)
    if clash is not None:
        raise DonationError("slug")
    goal = parse_amount(data["goal"], campaign.currency) if data.get("goal") else None
    if outlet is None:
        outlet = Outlet(campaign_id=campaign.id)
        db.session.add(outlet)
    outlet.slug = data["slug"]
    outlet.name = data["name"].strip()
    outlet.url = data.get("url") or ""
    outlet.logo_url = data.get("logo_url") or ""
    outlet.blurb = data.get("blurb") or ""
    outlet.goal = goal
    outlet.position = data.get("position") or 0
    db.session.flush()
    db.session.expire(campaign, ["outlets"])
    bump_version(campaign.id)
    audit.record("campaign.outlet", "campaign", campaign.id, actor_id=staff.id, outlet=outlet.slug)
    return outlet


def add_milestone(
    campaign: Campaign, amount: str, title: str, description: str, staff: User | None = None
) -> Milestone:
    """Add a stretch goal."""
    milestone = Milestone(
        campaign_id=campaign.id,
        amount=parse_amount(amount, campaign.currency),
        title=title.strip(),
        description=(description or "").strip(),
    )
    db.session.add(milestone)
    db.session.flush()
    db.session.expire(campaign, ["milestones"])
    bump_version(campaign.id)
    audit.record("campaign.milestone", "campaign", campaign.id,
                 actor_id=staff.id if staff else None, amount=milestone.amount)  # fmt: skip
    return milestone


def add_reward_tier(
    campaign: Campaign,
    minimum: str,
    perk_id: int,
    months: int,
    title: str,
    staff: User | None = None,
) -> RewardTier:
    """Add a reward tier."""
    tier = RewardTier(
        campaign_id=campaign.id,
        minimum=parse_amount(minimum, campaign.currency),
        perk_id=perk_id,
        months=months,
        title=(title or "").strip(),
    )
    db.session.add(tier)
    db.session.flush()
    db.session.expire(campaign, ["reward_tiers"])
    bump_version(campaign.id)  # the campaign page lists the tiers
    audit.record("campaign.reward", "campaign", campaign.id, actor_id=staff.id if staff else None,
                 perk_id=perk_id, minimum=tier.minimum, months=months)  # fmt: skip
    return tier


def remove(obj: Milestone | RewardTier, staff: User | None = None) -> None:
    """Delete a milestone or reward tier (grants already made stay)."""
    campaign_id = obj.campaign_id
    what = "milestone" if isinstance(obj, Milestone) else "reward"
    audit.record(f"campaign.{what}_removed", "campaign", campaign_id,
                 actor_id=staff.id if staff else None, item=obj.id)  # fmt: skip
    db.session.delete(obj)
    db.session.flush()
    bump_version(campaign_id)
