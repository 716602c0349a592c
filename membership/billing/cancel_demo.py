"""Demo of the cancel page: reasons and outcomes over the demo months (for the staff report)
and, with the sandbox running, a member who paused through Stripe's pause_collection."""

from __future__ import annotations

import logging
import random
import secrets

import click
from flask import current_app
from sqlalchemy import insert, select

from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.billing import cancellation, checkout, services
from membership.billing import stripe_gateway as gateway
from membership.billing.demo import _sandbox_control
from membership.billing.models import CancellationRequest, Membership, Plan
from membership.extensions import db
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

PAUSED_MEMBER_EMAIL = "paused@example.org"
# How often each reason is given (weights), and some words readers wrote.
WEIGHTS = {"too_expensive": 34, "not_reading": 22, "break": 14, "journalism": 8, "payment": 4,
           "other": 6, None: 12}  # fmt: skip
WORDS = {
    "too_expensive": ["Money is tight this winter; I will be back.",
                      "Too many subscriptions at once."],
    "not_reading": ["I mostly read the newsletter, which is free anyway."],
    "break": ["Moving abroad for a year.", "A new baby: no time to read for now."],
    "journalism": ["I wanted more local reporting from the regions."],
    "payment": ["The card kept failing, easier to stop for now."],
    "other": ["Please keep the investigations coming!"],
}  # fmt: skip


def seed_cancellation_reasons(summary, members: int, echo) -> None:
    """For the demo volume: a request for most cancelled memberships (in the month they were
    cancelled), and pauses and kept offers among the live ones, spread over the months."""
    if db.session.scalar(select(CancellationRequest.id).limit(1)) is not None:
        return
    rows = db.session.execute(
        select(Membership.id, Membership.user_id, Membership.status, Membership.interval,
               Membership.canceled_at, Membership.started_at)
        .where(Membership.stripe_subscription_id.like("sub_demo_%"))
        .order_by(Membership.id)
    ).all()  # fmt: skip
    if not rows:
        return
    rng, now, requests = random.Random(14), utcnow(), []
    reasons, weights = list(WEIGHTS), list(WEIGHTS.values())
    with click.progressbar(rows, label="Demo cancellation requests") as bar:
        for mid, user_id, status, interval, canceled_at, started_at in bar:
            row = {"membership_id": mid, "user_id": user_id, "pause_months": None,
                   "coupon_id": None, "resumes_at": None}  # fmt: skip
            if status == "canceled" and canceled_at and rng.random() < 0.8:
                row.update(outcome="cancelled", created_at=canceled_at)
            elif status == "active" and interval == "month" and rng.random() < 0.12:
                at = started_at + (now - started_at) * rng.random()
                if rng.random() < 0.55:
                    months = rng.choice(cancellation.PAUSE_MONTHS)
                    row.update(outcome="paused", pause_months=months, created_at=at,
                               resumes_at=cancellation.add_months(at, months))  # fmt: skip
                else:
                    row.update(outcome="kept_with_offer", coupon_id="retention_25pct_3m",
                               created_at=at)  # fmt: skip
            else:
                continue
            reason = rng.choices(reasons, weights)[0]
            if row["outcome"] == "paused" and rng.random() < 0.5:
                reason = "break"
            words = rng.choice(WORDS[reason]) if reason and rng.random() < 0.3 else None
            requests.append({**row, "reason": reason, "comment": words})
    if requests:
        db.session.execute(insert(CancellationRequest), requests)
        db.session.flush()
    summary.parts.append(f"{len(requests)} cancellation requests with reasons")


def seed_paused_member(summary, members: int, echo) -> None:
    """A member who joined through the sandbox and, on the cancel page, paused for 2 months:
    Stripe voids the renewals meanwhile and the account says when it resumes."""
    config = current_app.config
    if not (config.get("STRIPE_SANDBOX") and config.get("STRIPE_API_BASE")):
        return
    if db.session.scalar(select(User.id).where(User.email == PAUSED_MEMBER_EMAIL)) is not None:
        return
    plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
    if plan is None:
        return
    password = secrets.token_urlsafe(12)
    user = User(email=PAUSED_MEMBER_EMAIL, name="Tamar", password_hash=hash_password(password),
                role=Role.member, verified_at=utcnow(), locale="ka")  # fmt: skip
    db.session.add(user)
    db.session.flush()
    try:
        url = checkout.start_checkout(user, plan, "month", None, ref="demo")
        session_id = url.rstrip("/").rsplit("/", 1)[-1]
        session = _sandbox_control(f"/_sandbox/checkout/sessions/{session_id}/complete", {})
        subscription = gateway.retrieve_subscription(session["subscription"])
        membership = services.sync_subscription(subscription)
        if subscription.latest_invoice_id:
            services.record_invoice(gateway.retrieve_invoice(subscription.latest_invoice_id))
        if membership is not None:
            cancellation.pause(membership, user, 2, "break", "Travelling until spring.")
    except (gateway.PaymentProviderError, cancellation.CancellationError, OSError, KeyError,
            ValueError) as exc:  # fmt: skip
        log.warning("demo: the paused member has no pause: %s", exc)
        echo(f"(The sandbox did not answer, so the paused member is not paused: {exc})")
    summary.parts.append("1 paused member")
    summary.secrets.append(f"Paused member (Georgian): {PAUSED_MEMBER_EMAIL} / {password}")
