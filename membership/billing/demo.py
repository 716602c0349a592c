"""Demo catalogue (perks and plans) and, with the sandbox running, a member who has paid."""

from __future__ import annotations

import json
import logging
import secrets
import urllib.parse
import urllib.request

from flask import current_app
from sqlalchemy import select

from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.billing import checkout, dunning, services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Plan, Price
from membership.extensions import db
from membership.perks.models import Perk
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

PERKS = [
    ("members-only-articles", "Members-only articles", "Investigations and analysis for members."),
    ("ad-free", "Ad-free reading", "No advertising anywhere on the site."),
    ("insider-newsletter", "The insider newsletter", "A weekly letter from the editors."),
    ("event-invitations", "Event invitations", "Meet the newsroom at our events."),
]

PLANS = [
    # slug, name, description, currency, monthly, yearly, perks, trial days, pay what you want
    ("supporter", "Supporter",
     "Read everything, without ads. · წაიკითხეთ ყველაფერი, რეკლამის გარეშე.", "eur", 500, 5000,
     ["members-only-articles", "ad-free"], 0, 0),
    ("insider", "Insider", "Everything, plus the editors' letter and our events.", "eur", 1200,
     12000, ["members-only-articles", "ad-free", "insider-newsletter", "event-invitations"], 14, 0),
    ("solidarity", "Solidarity", "Members-only articles, at the price you choose.", "eur", 0, 0,
     ["members-only-articles"], 0, 300),
]  # fmt: skip

DEMO_MEMBER_EMAIL = "member@example.org"
ARMENIAN_READER_EMAIL = "anahit@example.org"
GRACE_MEMBER_EMAIL = "grace@example.org"
FAILING_CARD = "4000000000000341"  # the sandbox accepts it at Checkout; every renewal fails


def seed_catalogue(summary, members: int, echo) -> None:
    """Perks and three plans, once."""
    if db.session.scalar(select(Plan.id).limit(1)) is not None:
        return
    perks = {}
    for position, (slug, name, description) in enumerate(PERKS):
        perk = db.session.scalar(select(Perk).where(Perk.slug == slug))
        if perk is None:
            perk = Perk(slug=slug, name=name, description=description, position=position)
            db.session.add(perk)
        perks[slug] = perk
    for position, row in enumerate(PLANS):
        slug, name, description, currency, monthly, yearly, perk_slugs, trial, minimum = row
        plan = Plan(
            slug=slug,
            name=name,
            description=description,
            currency=currency,
            position=position,
            trial_days=trial,
            pay_what_you_want=minimum > 0,
            minimum_amount=minimum,
            perks=[perks[s] for s in perk_slugs],
        )
        db.session.add(plan)
        for interval, amount in (("month", monthly), ("year", yearly)):
            if amount:
                price = Price(plan=plan, interval=interval, amount=amount, currency=currency)
                price.lookup_key = f"plan:{slug}:{interval}:{amount}:{currency}"
                db.session.add(price)
    db.session.flush()
    summary.parts.append(f"{len(PERKS)} perks and {len(PLANS)} plans")


def _sandbox_api(path: str, form: dict) -> dict:
    """POST to the sandbox's Stripe API as a dashboard would (demo only: no Stripe call in the
    app does what the demo needs here, ending a trial at once)."""
    config = current_app.config
    url = config["STRIPE_API_BASE"].rstrip("/") + path
    request = urllib.request.Request(  # noqa: S310 - the configured local sandbox
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Authorization": f"Bearer {config['STRIPE_SECRET_KEY']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def _sandbox_control(path: str, body: dict) -> dict:
    """POST to the sandbox's control API (demo only)."""
    url = current_app.config["STRIPE_API_BASE"].rstrip("/") + path
    request = urllib.request.Request(  # noqa: S310 - the configured local sandbox
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def seed_paying_member(summary, members: int, echo) -> None:
    """A reader who joined through the sandbox's Checkout, mirrored as a webhook would."""
    config = current_app.config
    if not (config.get("STRIPE_SANDBOX") and config.get("STRIPE_API_BASE")):
        return
    if db.session.scalar(select(User.id).where(User.email == DEMO_MEMBER_EMAIL)) is not None:
        return
    plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
    if plan is None:
        return
    password = secrets.token_urlsafe(12)
    user = User(
        email=DEMO_MEMBER_EMAIL,
        name="Demo Member",
        password_hash=hash_password(password),
        role=Role.member,
        verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    try:
        url = checkout.start_checkout(user, plan, "month", None, ref="demo")
        session_id = url.rstrip("/").rsplit("/", 1)[-1]
        session = _sandbox_control(f"/_sandbox/checkout/sessions/{session_id}/complete", {})
        subscription = gateway.retrieve_subscription(session["subscription"])
        services.sync_subscription(subscription)
        if subscription.latest_invoice_id:
            services.record_invoice(gateway.retrieve_invoice(subscription.latest_invoice_id))
    except (gateway.PaymentProviderError, OSError, KeyError, ValueError) as exc:
        log.warning("demo member without a membership: %s", exc)
        echo(f"(The sandbox did not answer, so the demo member has no membership: {exc})")
    summary.parts.append("1 paying member")
    summary.secrets.append(f"Member sign-in: {DEMO_MEMBER_EMAIL} / {password}")
    # A reader who reads in Armenian: pages and mails follow the account's language.
    password = secrets.token_urlsafe(12)
    anahit = User(email=ARMENIAN_READER_EMAIL, name="Anahit", password_hash=hash_password(password),
                  role=Role.member, verified_at=utcnow(), locale="hy")  # fmt: skip
    db.session.add(anahit)
    db.session.flush()
    _joins_and_cancels(anahit, plan)
    summary.secrets.append(f"Armenian-speaking reader: {ARMENIAN_READER_EMAIL} / {password}")


def _joins_and_cancels(user: User, plan: Plan) -> None:
    """The Armenian reader joined and then cancelled at the period's end: her welcome, receipt
    and "cancellation confirmed" mails (instance/outbox/) are in Armenian, and her account says
    when the membership ends."""
    try:
        url = checkout.start_checkout(user, plan, "month", None, ref="demo")
        session_id = url.rstrip("/").rsplit("/", 1)[-1]
        session = _sandbox_control(f"/_sandbox/checkout/sessions/{session_id}/complete", {})
        subscription = gateway.retrieve_subscription(session["subscription"])
        membership = services.sync_subscription(subscription)
        if subscription.latest_invoice_id:
            services.record_invoice(gateway.retrieve_invoice(subscription.latest_invoice_id))
        if membership is not None:
            services.set_cancel_at_period_end(membership, True, user)
    except (gateway.PaymentProviderError, OSError, KeyError, ValueError) as exc:
        log.warning("demo: the Armenian reader has no membership: %s", exc)


def seed_member_in_grace(summary, members: int, echo) -> None:
    """A member whose renewal failed and whose card still fails: in the grace period, with the
    account page's banner, the first recovery mail in the outbox and its reminders scheduled.

    Made through the sandbox as Stripe would: Checkout of the Insider plan's trial with a card
    that fails off-session, then the trial ended at once, so the first charge fails."""
    config = current_app.config
    if not (config.get("STRIPE_SANDBOX") and config.get("STRIPE_API_BASE")):
        return
    if db.session.scalar(select(User.id).where(User.email == GRACE_MEMBER_EMAIL)) is not None:
        return
    plan = db.session.scalar(select(Plan).where(Plan.slug == "insider"))
    if plan is None:
        return
    password = secrets.token_urlsafe(12)
    user = User(email=GRACE_MEMBER_EMAIL, name="Giorgi", password_hash=hash_password(password),
                role=Role.member, verified_at=utcnow())  # fmt: skip
    db.session.add(user)
    db.session.flush()
    try:
        url = checkout.start_checkout(user, plan, "month", None, ref="demo")
        session_id = url.rstrip("/").rsplit("/", 1)[-1]
        session = _sandbox_control(
            f"/_sandbox/checkout/sessions/{session_id}/complete", {"card": FAILING_CARD}
        )
        subscription = _sandbox_api(f"/v1/subscriptions/{session['subscription']}",
                                    {"trial_end": "now"})  # fmt: skip
        invoice = gateway.retrieve_invoice(subscription["latest_invoice"])
        dunning.payment_failed(invoice)  # what invoice.payment_failed's webhook does
    except (gateway.PaymentProviderError, OSError, KeyError, ValueError) as exc:
        log.warning("demo member in grace without a membership: %s", exc)
        echo(f"(The sandbox did not answer, so the member in grace has no membership: {exc})")
    summary.parts.append("1 member in grace with a failing card")
    summary.secrets.append(f"Member in grace (failing card): {GRACE_MEMBER_EMAIL} / {password}")
