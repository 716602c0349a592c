"""Demo of the fiscal host: the campaign's host (seeded from the HOST_* settings, with a 5 % fee),
more card gifts through the sandbox (EEA and international cards, a refund, a lost dispute),
their Stripe fees read from the sandbox's balance transactions, one grant paid to each outlet
(one of them in lari), and an account on River Daily's staff."""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from membership.accounts.models import User
from membership.accounts.passwords import hash_password
from membership.billing import stripe_gateway as gateway
from membership.billing.reconcile import Report
from membership.billing.reconcile_fees import reconcile_fees
from membership.extensions import db
from membership.fundraisers import demo as fundraiser_demo
from membership.fundraisers import giving
from membership.fundraisers.models import Campaign
from membership.host import accounts, grants, hosts, staffing
from membership.money import to_major
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

OUTLET_STAFF_EMAIL = "newsroom@example.org"
HOST_FEE_BASIS_POINTS = 500
# amount, outlet, card (EEA: 1.5 % + €0.25; US: 3.25 % + €0.25), what happens next
CARD_GIFTS = [
    ("30", "mountain-post", "4000002760000016", None),
    ("15", "all", "4000002500000003", None),
    ("60", "valley-voice", "4242424242424242", None),
    ("20", "all", "4242424242424242", "refund"),
    ("12", "river-daily", "4000002760000016", "dispute"),
]
# Outlet slug: (share of the balance granted, paid in another currency, rate).
CENT = Decimal("0.01")  # the paid-out currency's digits (GEL)
GRANTS = {"mountain-post": ("gel", "2.9504"), "river-daily": (None, None),
          "valley-voice": (None, None)}  # fmt: skip


def seed_host(summary, members: int, echo) -> None:
    """The demo campaign's host, fees, grants and newsroom staff account, once."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == fundraiser_demo.SLUG))
    if campaign is None or hosts.host_record(campaign.id) is not None:
        return
    settings = hosts.settings_host()
    hosts.save_host(campaign, {
        "legal_name": settings.legal_name, "country": "DE",
        "registration_number": settings.registration_number or "VR 12345 B",
        "address": settings.address or "Friedrichstraße 1, 10117 Berlin",
        "contact": "host@example.org", "fee_basis_points": HOST_FEE_BASIS_POINTS,
    }, None)  # fmt: skip
    gifts = _card_gifts(campaign, echo)
    report = Report()
    if _sandbox():
        try:
            reconcile_fees(report, db.session.flush, None, None, lambda items, label: items)
        except gateway.PaymentProviderError as exc:
            echo(f"(The sandbox did not answer, so the demo has no Stripe fees: {exc})")
    db.session.expire(campaign)
    paid = _grants(campaign)
    password = _outlet_staff(campaign)
    summary.parts.append(
        f"its host ({HOST_FEE_BASIS_POINTS / 100:g} % fee, {gifts} more card gifts, "
        f"{report.fees} Stripe balance transactions, {paid} grants)"
    )
    if password:
        summary.secrets.append(
            f"Newsroom staff (River Daily's statement and wall): {OUTLET_STAFF_EMAIL} / {password}"
        )


def _sandbox() -> bool:
    """Whether the demo talks to the local sandbox."""
    config = current_app.config
    return bool(config.get("STRIPE_SANDBOX") and config.get("STRIPE_API_BASE"))


def _card_gifts(campaign: Campaign, echo) -> int:
    """A few more gifts paid by card in the sandbox, one refunded in part, one disputed and
    lost, mirrored by the functions the webhooks call."""
    if not _sandbox():
        return 0
    from membership.billing import origins
    from membership.billing.demo import _sandbox_control

    made = 0
    for amount, outlet, card, then in CARD_GIFTS:
        try:
            _, url = giving.start_donation(campaign, giving.GiftRequest(amount, "once", outlet,
                                                                        "", ""), None)  # fmt: skip
            session_id = url.rstrip("/").rsplit("/", 1)[-1]
            _sandbox_control(f"/_sandbox/checkout/sessions/{session_id}/complete",
                             {"email": f"card{made}@example.org", "card": card})  # fmt: skip
            session = gateway.retrieve_checkout_session(session_id)
            giving.sync_checkout(session)
            intent = gateway.retrieve_payment_intent(session.payment_intent)
            if then == "refund":
                gateway.refund_payment_intent(intent.id, 500, f"demo-refund-{intent.id}")
                origins.record_charge_refunds(gateway.retrieve_charge(intent.latest_charge))
            elif then == "dispute":
                dispute = _sandbox_control(f"/_sandbox/charges/{intent.latest_charge}/dispute", {})
                _sandbox_control(f"/_sandbox/disputes/{dispute['id']}/close", {"outcome": "lost"})
                origins.record_dispute(gateway.retrieve_dispute(dispute["id"]))
            made += 1
        except (gateway.PaymentProviderError, OSError, KeyError, ValueError) as exc:
            log.warning("demo card gift skipped: %s", exc)
            echo(f"(The sandbox did not answer, so the demo has fewer card gifts: {exc})")
            break
    return made


def _grants(campaign: Campaign) -> int:
    """One grant to each outlet: half its balance, rounded down to whole euros."""
    made = 0
    today = utcnow().date()
    for account in accounts.accounts(campaign):
        if account.currency != campaign.currency or account.balance < 200:
            continue
        amount = account.balance // 2 // 100 * 100
        currency, rate = GRANTS.get(account.outlet.slug, (None, None))
        paid = ""
        if currency and rate:
            paid = str((to_major(amount, campaign.currency) * Decimal(rate)).quantize(CENT))
        data = grants.GrantInput(
            amount=str(to_major(amount, campaign.currency)),
            currency=campaign.currency, paid_on=today,
            bank_reference=f"DEMO-{today:%Y%m}-{account.outlet.slug.upper()}",
            paid_amount=paid, paid_currency=currency or "", rate=rate or "",
            note="demo grant",
        )  # fmt: skip
        grants.record_grant(campaign, account.outlet, data, grants.new_token(), None, today)
        made += 1
    return made


def _outlet_staff(campaign: Campaign) -> str | None:
    """An account on River Daily's staff; its random password, shown once."""
    outlet = next((o for o in campaign.outlets if o.slug == "river-daily"), None)
    if outlet is None:
        return None
    if db.session.scalar(select(User.id).where(User.email == OUTLET_STAFF_EMAIL)) is not None:
        return None
    password = secrets.token_urlsafe(12)
    db.session.add(User(email=OUTLET_STAFF_EMAIL, password_hash=hash_password(password),
                        name="River Daily newsroom", verified_at=utcnow()))  # fmt: skip
    db.session.flush()
    staffing.assign(OUTLET_STAFF_EMAIL, outlet, None)
    return password
