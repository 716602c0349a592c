"""Demo volume: members with 24 months of memberships, payments, gifts, refunds, and failed
renewals with their outcomes (the payment recovery funnel).

Bulk inserts in batches, no Stripe calls (ids look like `sub_demo_…`, `in_demo_…`), so that the
staff reports have something to show and can be benchmarked: 100,000 members take minutes.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import click
from sqlalchemy import func, insert, select

from membership.accounts.models import Role, User
from membership.attribution import Attribution
from membership.billing.models import Membership, PaymentRecovery, Plan, StripeEvent
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry
from membership.timeutil import utcnow

DEFAULT_VOLUME = 150  # members added on the first `make run`, so that the reports are not empty
BATCH = 2000
REFS = ["", "", "", "investigation-water", "climate-explainer", "election-guide", "newsletter",
        "homepage", "podcast-ep-12", "housing-series"]  # fmt: skip
# First touches (utm source, medium, campaign, referring host), as often as they come: the
# conversions-by-source report and a member's file show them. None: direct or unknown.
TOUCHES = [None] * 4 + [
    ("newsletter", "email", "weekly-digest", None),
    ("newsletter", "email", "weekly-digest", None),
    ("newsletter", "email", "year-end-appeal", None),
    ("facebook", "social", "spring-drive", None),
    ("mastodon", "social", "", None),
    ("google", "cpc", "brand-2026", None),
    ("partner-radio", "partner", "election-special", None),
    (None, None, None, "news.google.com"),
    (None, None, None, "reddit.com"),
    (None, None, None, "river-daily.example.org"),
]


def seed_volume(summary, members: int, echo: Callable[[str], None]) -> None:
    """`members` demo members with history; DEFAULT_VOLUME on a first seed without --members."""
    first = db.session.scalar(
        select(Membership.id).where(Membership.stripe_subscription_id.like("sub_demo_%")).limit(1)
    )
    count = members or (DEFAULT_VOLUME if first is None else 0)
    if count == 0:
        return
    plans = {p.slug: p for p in db.session.scalars(select(Plan))}
    if not {"supporter", "insider", "solidarity"} <= set(plans):
        echo("(No demo catalogue: members are added without memberships.)")
    totals = generate(count, plans, random.Random(count), utcnow())
    summary.parts.append(
        f"{count} members ({totals['memberships']} memberships, {totals['ledger']} ledger rows "
        f"over 24 months)"
    )


def _password_hash() -> str:
    """One hash for every demo member: they cannot sign in (nobody knows the password)."""
    from membership.accounts.passwords import hash_password

    return hash_password(secrets.token_urlsafe(16))


def generate(count: int, plans: dict[str, Plan], rng: random.Random, now: datetime) -> dict:
    """Insert `count` members and their history in batches; returns row counts."""
    shared_hash = _password_hash()
    offset = db.session.scalar(select(func.coalesce(func.max(User.id), 0))) or 0
    totals = {"memberships": 0, "ledger": 0}
    with click.progressbar(range(0, count, BATCH), label="Demo members") as bar:
        for start in bar:
            size = min(BATCH, count - start)
            users = [
                {
                    "email": f"reader{offset + start + i + 1}@example.org",
                    "name": f"Reader {offset + start + i + 1}",
                    "password_hash": shared_hash,
                    "role": Role.member,
                    "verified_at": now - timedelta(days=rng.randint(1, 730)),
                    "created_at": now - timedelta(days=rng.randint(1, 730)),
                }
                for i in range(size)
            ]
            ids = db.session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True), users
            ).all()
            totals_batch = _history(ids, plans, rng, now)
            for key, value in totals_batch.items():
                totals[key] += value
    db.session.flush()
    return totals


def _membership(user_id: int, plan: Plan | None, rng: random.Random, now: datetime) -> dict:
    """One membership row with a believable fate."""
    started = now - timedelta(days=rng.uniform(0, 730))
    interval = "year" if rng.random() < 0.2 else "month"
    if plan is None:
        amount, currency = 500, "eur"
    elif plan.pay_what_you_want:
        amount, currency = plan.minimum_amount * rng.choice((1, 1, 2, 3, 5)), plan.currency
        amount *= 12 if interval == "year" else 1
    else:
        price = plan.price_for(interval) or plan.price_for("month")
        interval, amount, currency = price.interval, price.amount, price.currency
    step = timedelta(days=365 if interval == "year" else 30)
    row = {
        "user_id": user_id, "plan_id": plan.id if plan else None, "status": "active",
        "interval": interval, "amount": amount, "currency": currency, "started_at": started,
        "stripe_customer_id": f"cus_demo_{user_id}", "latest_invoice_paid": True,
        "ref": rng.choice(REFS) or None,
    }  # fmt: skip
    fate = rng.random()
    if fate < 0.22 and now - started > timedelta(days=35):
        ended = started + timedelta(days=rng.uniform(31, (now - started).days))
        row.update(status="canceled", ended_at=ended,
                   canceled_at=ended - timedelta(days=rng.uniform(0, 25)))  # fmt: skip
    elif fate < 0.25 and now - started > timedelta(days=35):
        row.update(status="past_due", latest_invoice_paid=False,
                   past_due_since=now - timedelta(days=rng.uniform(0, 14)))  # fmt: skip
    elif fate < 0.27:
        started = now - timedelta(days=rng.uniform(0, 13))
        row.update(status="trialing", started_at=started, trial_end=started + timedelta(days=14))
    elif fate < 0.29:
        row.update(status="incomplete_expired", latest_invoice_paid=False,
                   ended_at=started + timedelta(days=1))  # fmt: skip
    periods, at = 0, started
    end = row.get("ended_at") or now
    while at + step <= end:
        at, periods = at + step, periods + 1
    row["current_period_start"] = at
    row["current_period_end"] = at + step
    row["_paid_periods"] = periods + 1 if row["status"] in ("active", "canceled") else periods
    row["_step"] = step
    return row


def _history(user_ids: list[int], plans: dict[str, Plan], rng: random.Random, now: datetime):
    """Memberships, their paid invoices, refunds, gifts and failures for one batch of members."""
    choices = [plans.get("supporter")] * 6 + [plans.get("insider")] * 3 + [plans.get("solidarity")]
    rows = [
        _membership(uid, rng.choice(choices), rng, now) for uid in user_ids if rng.random() < 0.85
    ]
    if not rows:
        return {"memberships": 0, "ledger": 0}
    for n, row in enumerate(rows):
        row["stripe_subscription_id"] = f"sub_demo_{row['user_id']}_{n}"
    extras = [{k: row.pop(k) for k in ("_paid_periods", "_step")} for row in rows]
    ids = db.session.scalars(
        insert(Membership).returning(Membership.id, sort_by_parameter_order=True), rows
    ).all()
    ledger: list[dict] = []
    failures: list[dict] = []
    recoveries: list[dict] = []
    for mid, row, extra in zip(ids, rows, extras, strict=True):
        if row["status"] in ("trialing", "incomplete_expired"):
            continue
        failed = _failed_renewal(mid, row, extra, rng, now)
        if failed is not None:
            recoveries.append(failed)
            failures.append(_failure(f"evt_demo_fail_{mid}", failed["stripe_invoice_id"],
                                     failed["failed_at"]))  # fmt: skip
        for k in range(extra["_paid_periods"]):
            at = row["started_at"] + extra["_step"] * k
            if at > now:
                break
            invoice_id = f"in_demo_{mid}_{k}"
            if failed is not None and failed["stripe_invoice_id"] == invoice_id:
                at = failed["recovered_at"]  # paid when the member updated the card
            ledger.append(_entry(EntryKind.membership, row["amount"], row["currency"],
                                 invoice_id, at, row["user_id"], mid))  # fmt: skip
            if rng.random() < 0.01:  # refunded a few days later
                ledger.append(_entry(EntryKind.refund, -row["amount"], row["currency"],
                                     f"re_demo_{mid}_{k}", min(at + timedelta(days=3), now),
                                     row["user_id"], mid))  # fmt: skip
    for uid in user_ids:
        if rng.random() < 0.12:  # one-time gifts, now and then a monthly one
            kind = EntryKind.monthly_gift if rng.random() < 0.3 else EntryKind.gift
            at = now - timedelta(days=rng.uniform(0, 730))
            ledger.append(_entry(kind, rng.choice((500, 1000, 2000, 2500, 5000, 10000)), "eur",
                                 f"pi_demo_gift_{uid}", at, uid, None))  # fmt: skip
        if rng.random() < 0.005:  # a bank transfer, recorded by hand
            at = now - timedelta(days=rng.uniform(0, 730))
            ledger.append(_entry(EntryKind.offline, 20000, "eur", f"offline_demo_{uid}", at, uid,
                                 None))  # fmt: skip
    touches = _touches(ids, rows, rng)
    if touches:
        db.session.execute(insert(Attribution), touches)
    for start in range(0, len(ledger), 5000):
        db.session.execute(insert(LedgerEntry), ledger[start : start + 5000])
    if failures:
        db.session.execute(insert(StripeEvent), failures)
    if recoveries:
        db.session.execute(insert(PaymentRecovery), recoveries)
    return {"memberships": len(rows), "ledger": len(ledger)}


def _touches(ids: list[int], rows: list[dict], rng: random.Random) -> list[dict]:
    """Where the demo members came from: the same first touch on the account (its signup) and
    on its membership (the first payment), a few days before joining."""
    out = []
    for mid, row in zip(ids, rows, strict=True):
        touch = rng.choice(TOUCHES)
        if touch is None and not row["ref"]:
            continue  # direct: nothing recorded
        source, medium, campaign, referrer = touch or (None, None, None, None)
        values = {"source": source, "medium": medium, "campaign": campaign or None,
                  "referrer": referrer, "ref": row["ref"],
                  "landing": f"/demo/article/{row['ref']}" if row["ref"] else "/plans",
                  "touched_at": row["started_at"] - timedelta(days=rng.uniform(0, 5)),
                  "created_at": row["started_at"]}  # fmt: skip
        out.append({**values, "user_id": None, "membership_id": mid})
        out.append({**values, "user_id": row["user_id"], "membership_id": None})
    return out


def _failed_renewal(mid: int, row: dict, extra: dict, rng: random.Random, now: datetime):
    """The payment recovery of a membership whose renewal failed, if one did: every past-due
    membership is failing now; a third of the cancelled ones ended after failed payments
    (lost); a few others failed once and were paid after a card update, mostly within the
    grace period (that renewal's ledger row moves to the day it was paid)."""
    grace = timedelta(days=7)
    base = {"membership_id": mid, "user_id": row["user_id"], "amount_due": row["amount"],
            "currency": row["currency"], "amount_recovered": 0, "recovered_at": None,
            "ended_at": None, "hosted_invoice_url": None, "created_at": now}  # fmt: skip
    if row["status"] == "past_due":
        since = row["past_due_since"]
        return base | {"stripe_invoice_id": f"in_demo_{mid}_due", "failed_at": since,
                       "grace_ends_at": since + grace, "status": "failing"}  # fmt: skip
    if row["status"] == "canceled" and rng.random() < 0.35:
        failed_at = row["ended_at"] - timedelta(days=15)
        if failed_at > row["started_at"]:
            return base | {"stripe_invoice_id": f"in_demo_{mid}_lost", "failed_at": failed_at,
                           "grace_ends_at": failed_at + grace, "status": "lost",
                           "ended_at": row["ended_at"]}  # fmt: skip
    if extra["_paid_periods"] >= 2 and rng.random() < 0.08:
        k = rng.randint(1, extra["_paid_periods"] - 1)
        failed_at = row["started_at"] + extra["_step"] * k
        late = rng.random() < 0.15
        paid = failed_at + timedelta(days=rng.uniform(8, 14) if late else rng.uniform(0.1, 6.5))
        if paid <= now:
            return base | {"stripe_invoice_id": f"in_demo_{mid}_{k}", "failed_at": failed_at,
                           "grace_ends_at": failed_at + grace, "status": "recovered",
                           "recovered_at": paid, "amount_recovered": row["amount"]}  # fmt: skip
    return None


def _entry(kind, amount, currency, object_id, at, user_id, membership_id) -> dict:
    """A ledger row."""
    return {
        "kind": kind, "amount": amount, "currency": currency, "stripe_object_id": object_id,
        "payment_intent_id": object_id.replace("in_demo_", "pi_demo_", 1)
        if kind != EntryKind.refund else object_id.replace("re_demo_", "pi_demo_", 1),
        "occurred_at": at, "user_id": user_id, "membership_id": membership_id,
        "description": "Demo", "created_at": at,
    }  # fmt: skip


def _failure(event_id: str, invoice_id: str, at: datetime) -> dict:
    """A processed invoice.payment_failed event, as the webhook would have stored it."""
    payload = {"id": event_id, "type": "invoice.payment_failed", "livemode": False,
               "data": {"object": {"id": invoice_id, "object": "invoice"}}}  # fmt: skip
    return {
        "id": event_id, "type": "invoice.payment_failed", "object_id": invoice_id,
        "created": at, "payload": payload, "status": "processed", "attempts": 1,
        "received_at": at, "processed_at": at,
    }  # fmt: skip
