"""Payment recovery (dunning): a failed renewal is mailed at once with a link that opens the
billing portal, reminded DUNNING_REMINDER_DAYS later, given a last notice
DUNNING_LAST_NOTICE_DAYS before the grace period ends, and all of it stops once the invoice is
paid. Perks stay through the grace period as before (perks/services.py).

The state lives in the database, never in a process: `payment_recoveries` (one row per failed
renewal invoice and its outcome) and `recovery_notices` (the schedule). Webhook handlers open
and settle recoveries; `send_due()` sends the notices that came due, run by `flask worker`
every minute or by `flask dunning send-due` from cron, in any number of processes. Every time
is Stripe's (the invoice's creation and payment), so duplicated and reordered events end in the
same rows, and each mail has a dedupe key per invoice and kind: it goes out once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select, update

from membership.accounts import tokens
from membership.billing import services
from membership.billing import stripe_gateway as gateway
from membership.billing.models import Membership, PaymentRecovery, RecoveryNotice
from membership.billing.stripe_objects import Invoice
from membership.database import insert_ignoring_duplicates
from membership.extensions import db
from membership.mail import date, money, queue_mail
from membership.perks.services import grace_period
from membership.timeutil import utcnow

log = logging.getLogger(__name__)

# Subscription states in which the membership is over: its open renewal is lost.
ENDED = ("canceled", "incomplete_expired")
# States in which a failed renewal is still owed and the reader can still pay it.
OWING = ("past_due", "unpaid")
TEMPLATES = {
    "failed": "payment_failed",
    "reminder": "payment_reminder",
    "last_notice": "payment_last_notice",
}


def is_renewal(invoice: Invoice) -> bool:
    """An invoice of a running subscription (a renewal, a plan change): the first payment is
    made in Checkout, in front of the reader, who sees its failure there."""
    return bool(invoice.subscription_id) and invoice.billing_reason != "subscription_create"


# --- the recovery's life, from Stripe's events ------------------------------------------------


def payment_failed(event_invoice: Invoice) -> None:
    """invoice.payment_failed (or …payment_action_required) of a membership: mirror the
    subscription, open the invoice's recovery once and schedule its mails.

    Stripe is read first, with nothing locked: the invoice as it is now (it may have been paid
    since this event was sent) and its subscription."""
    if not event_invoice.subscription_id:
        return
    invoice = gateway.retrieve_invoice(event_invoice.id)
    subscription = gateway.retrieve_subscription(event_invoice.subscription_id)
    membership = services.sync_subscription(subscription)
    if membership is None or not is_renewal(invoice):
        return
    recovery = _open(invoice, membership)
    if invoice.status == "paid":
        _recovered(recovery, invoice)
    elif invoice.given_up_at is not None or invoice.status == "void":
        _lost(recovery, invoice.given_up_at or invoice.created)
    elif membership.status in ENDED:
        _lost(recovery, membership.ended_at or utcnow())
    elif recovery.status == "failing":
        _schedule(recovery, membership)


def invoice_paid(invoice: Invoice, membership: Membership) -> None:
    """A membership invoice was paid (services.record_invoice, from the webhook, reconcile or
    send_due): its recovery is settled. One paid after failed attempts whose failure events
    are late (or lost) is counted as a failure recovered, so the funnel is the same in any
    order."""
    recovery = _locked(invoice.id)
    if recovery is None:
        if not is_renewal(invoice) or invoice.attempt_count < 2:
            return
        recovery = _open(invoice, membership)
    _recovered(recovery, invoice)


def invoice_given_up(invoice: Invoice) -> None:
    """invoice.voided / invoice.marked_uncollectible: the renewal will not be collected."""
    recovery = _locked(invoice.id)
    if recovery is not None:
        _lost(recovery, invoice.given_up_at or invoice.created)


def membership_changed(membership: Membership) -> None:
    """After a sync (services.AFTER_SYNC): a membership that ended loses its open renewals."""
    if membership.status not in ENDED:
        return
    failing = db.session.scalars(
        select(PaymentRecovery.stripe_invoice_id).where(
            PaymentRecovery.membership_id == membership.id, PaymentRecovery.status == "failing"
        )
    ).all()
    for invoice_id in failing:
        _lost(_locked(invoice_id), membership.ended_at or utcnow())


services.AFTER_SYNC.append(membership_changed)
services.AFTER_PAID_INVOICE.append(invoice_paid)


def _open(invoice: Invoice, membership: Membership) -> PaymentRecovery:
    """The invoice's recovery, inserted once (ON CONFLICT DO NOTHING) and locked. Its times are
    the invoice's, so whichever event opens it, it is the same row."""
    values = {
        "stripe_invoice_id": invoice.id,
        "membership_id": membership.id,
        "user_id": membership.user_id,
        "amount_due": max(invoice.amount_due, 0),
        "currency": invoice.currency or membership.currency,
        "failed_at": invoice.created,
        "grace_ends_at": invoice.created + grace_period(),
        "status": "failing",
        "amount_recovered": 0,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "created_at": utcnow(),
    }
    insert_ignoring_duplicates(PaymentRecovery, "stripe_invoice_id", values)
    return _locked(invoice.id)


def _locked(invoice_id: str, skip_locked: bool = False) -> PaymentRecovery | None:
    """The recovery of an invoice, locked FOR UPDATE until the transaction ends (recovery
    first, then its notices: every writer takes them in this order)."""
    return db.session.scalar(
        select(PaymentRecovery)
        .where(PaymentRecovery.stripe_invoice_id == invoice_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )


def _recovered(recovery: PaymentRecovery, invoice: Invoice) -> None:
    """Paid: recovered at Stripe's payment time; nothing more is sent. A payment wins over a
    loss seen before it (the reader paid the open invoice after all)."""
    recovery.status = "recovered"
    recovery.recovered_at = invoice.paid_at or invoice.created
    recovery.amount_recovered = invoice.amount_paid
    recovery.ended_at = None
    _cancel_notices(recovery)


def _lost(recovery: PaymentRecovery, at: datetime) -> None:
    """Ended unpaid, at the earliest end seen (so any order of the ends gives one time)."""
    if recovery.status == "recovered":
        return
    recovery.status = "lost"
    recovery.ended_at = at if recovery.ended_at is None else min(recovery.ended_at, at)
    _cancel_notices(recovery)


def _cancel_notices(recovery: PaymentRecovery) -> None:
    db.session.execute(
        update(RecoveryNotice)
        .where(RecoveryNotice.recovery_id == recovery.id, RecoveryNotice.status == "scheduled")
        .values(status="cancelled")
    )


# --- the schedule ------------------------------------------------------------------------------


def schedule_for(failed_at: datetime, grace_ends_at: datetime) -> list[tuple[str, datetime]]:
    """(kind, due time) of a recovery's mails: the failure at once, the reminder
    DUNNING_REMINDER_DAYS later, the last notice DUNNING_LAST_NOTICE_DAYS before the grace
    period ends. A reminder that would not come before the last notice is left out (the last
    notice says it all), and so is a last notice that would come before the failure."""
    config = current_app.config
    reminder_days = int(config.get("DUNNING_REMINDER_DAYS", 3))
    last_days = int(config.get("DUNNING_LAST_NOTICE_DAYS", 1))
    last = grace_ends_at - timedelta(days=last_days) if last_days else None
    if last is not None and last <= failed_at:
        last = None
    reminder = failed_at + timedelta(days=reminder_days) if reminder_days else None
    if reminder is not None and reminder >= (last or grace_ends_at):
        reminder = None
    plan = [("failed", failed_at)]
    plan += [(kind, at) for kind, at in (("reminder", reminder), ("last_notice", last)) if at]
    return plan


def _schedule(recovery: PaymentRecovery, membership: Membership) -> None:
    """Write the recovery's notices once; the failure's mail is queued now, with them."""
    now = utcnow()
    for kind, due in schedule_for(recovery.failed_at, recovery.grace_ends_at):
        first = kind == "failed"
        new = insert_ignoring_duplicates(
            RecoveryNotice,
            "key",
            {
                "key": f"{recovery.stripe_invoice_id}:{kind}",
                "recovery_id": recovery.id,
                "kind": kind,
                "due_at": due,
                "status": "sent" if first else "scheduled",
                "sent_at": now if first else None,
            },
        )
        if new and first:
            _mail(recovery, membership, kind, now)


def fix_url(recovery: PaymentRecovery) -> str:
    """The mails' "update my card" link: signed, it opens the billing portal without a
    password while the payment is failing (billing/views.py), for PAYMENT_LINK_MAX_AGE."""
    token = tokens.make_token(tokens.FIX_PAYMENT, {"r": recovery.id, "u": recovery.user_id})
    return f"{current_app.config['BASE_URL']}/account/fix-payment/{token}"


def recovery_from_link(token: str) -> PaymentRecovery:
    """The recovery a fix-payment link names; raises tokens.InvalidToken."""
    payload = tokens.read_token(tokens.FIX_PAYMENT, token)
    recovery_id = payload.get("r")
    recovery = db.session.get(PaymentRecovery, recovery_id) if _is_id(recovery_id) else None
    if recovery is None or recovery.user_id != payload.get("u"):
        raise tokens.InvalidToken("no such recovery")
    return recovery


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _mail(recovery: PaymentRecovery, membership: Membership, kind: str, now: datetime) -> None:
    """Queue one mail of the schedule, in the member's language, once per invoice and kind."""
    user = membership.user
    if user.deleted_at is not None:
        return
    context = {
        "name": user.name,
        "plan": membership.plan.name if membership.plan else "",
        "amount": money(recovery.amount_due, recovery.currency),
        "perks_until": date(recovery.grace_ends_at),
        "grace_over": recovery.grace_ends_at <= now,
        "fix_url": fix_url(recovery),
        "invoice_url": recovery.hosted_invoice_url or "",
        "account_url": current_app.config["BASE_URL"] + "/account",
    }
    queue_mail(TEMPLATES[kind], user.email, context, locale=user.locale,
               dedupe_key=f"dunning-{recovery.stripe_invoice_id}-{kind}")  # fmt: skip


def send_due(now: datetime | None = None, limit: int = 200) -> Counter:
    """Send the notices that came due, one recovery per transaction; returns how many were
    sent, skipped (overtaken) and cancelled (the invoice was paid or the renewal lost), and how
    many recoveries are left waiting because Stripe could not be read.

    Before a mail goes out the invoice is read again from Stripe, with nothing locked: a paid
    invoice whose webhook is late is recorded instead (ledger and recovery), and its reader is
    not told it failed. Stripe unreachable: the rest waits for the next run."""
    now = now or utcnow()
    due = db.session.execute(
        select(PaymentRecovery.id, PaymentRecovery.stripe_invoice_id)
        .join(RecoveryNotice, RecoveryNotice.recovery_id == PaymentRecovery.id)
        .where(RecoveryNotice.status == "scheduled", RecoveryNotice.due_at <= now)
        .group_by(PaymentRecovery.id, PaymentRecovery.stripe_invoice_id)
        .order_by(PaymentRecovery.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    counts: Counter = Counter()
    for done, (recovery_id, invoice_id) in enumerate(due):
        try:
            invoice = gateway.retrieve_invoice(invoice_id)
        except gateway.PaymentProviderError as exc:
            log.warning("dunning: Stripe unreachable (%s); due notices wait for the next run", exc)
            db.session.rollback()
            counts["waiting"] += len(due) - done
            break
        counts.update(_send_due_of(recovery_id, invoice, now))
        db.session.commit()  # the mail queued goes out now (mail.py's after_commit hook)
    return counts


def _send_due_of(recovery_id: int, invoice: Invoice, now: datetime) -> Counter:
    """One recovery's due notices, given its invoice as Stripe has it now."""
    counts: Counter = Counter()
    if invoice.status == "paid":
        membership = db.session.scalar(
            select(Membership)
            .join(PaymentRecovery, PaymentRecovery.membership_id == Membership.id)
            .where(PaymentRecovery.id == recovery_id)
        )
        services.record_invoice(invoice, membership=membership)  # settles it (invoice_paid)
        counts["cancelled"] += 1
        return counts
    recovery = _locked(invoice.id, skip_locked=True)
    if recovery is None:  # another process holds it now and sends what is due
        return counts
    notices = db.session.scalars(
        select(RecoveryNotice)
        .where(
            RecoveryNotice.recovery_id == recovery.id,
            and_(RecoveryNotice.status == "scheduled", RecoveryNotice.due_at <= now),
        )
        .order_by(RecoveryNotice.due_at)
        .with_for_update()
    ).all()
    membership = recovery.membership
    if recovery.status == "failing" and (invoice.given_up_at or invoice.status == "void"):
        _lost(recovery, invoice.given_up_at or invoice.created)
    elif recovery.status == "failing" and membership.status in ENDED:
        _lost(recovery, membership.ended_at or now)
    if recovery.status != "failing":
        counts["cancelled"] += len(notices)
        _cancel_notices(recovery)
        return counts
    for notice in notices:
        # Only the latest notice that is due goes out (a worker that was down for days does
        # not send the reminder and the last notice together), and none once grace is over.
        if notice is notices[-1] and now < recovery.grace_ends_at and membership.status in OWING:
            _mail(recovery, membership, notice.kind, now)
            notice.status, notice.sent_at = "sent", now
            counts["sent"] += 1
        else:
            notice.status = "skipped"
            counts["skipped"] += 1
    return counts


# --- what the account page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class PaymentProblem:
    """A renewal the reader still owes: the account page's banner."""

    amount: int
    currency: str
    perks_until: datetime
    invoice_url: str | None

    @property
    def grace_over(self) -> bool:
        """Whether the perks have closed already (they come back once it is paid)."""
        return self.perks_until <= utcnow()


def payment_problem(user_id: int) -> PaymentProblem | None:
    """The reader's failing renewal, if any: the newest failing recovery of a membership that
    still owes it, else a past-due membership with no recovery (rows from before recoveries
    existed, or an import)."""
    recovery = db.session.scalar(
        select(PaymentRecovery)
        .join(Membership, Membership.id == PaymentRecovery.membership_id)
        .where(
            PaymentRecovery.user_id == user_id,
            PaymentRecovery.status == "failing",
            Membership.status.in_(OWING),
        )
        .order_by(PaymentRecovery.failed_at.desc())
        .limit(1)
    )
    if recovery is not None:
        return PaymentProblem(recovery.amount_due, recovery.currency, recovery.grace_ends_at,
                              recovery.hosted_invoice_url)  # fmt: skip
    membership = db.session.scalar(
        select(Membership)
        .outerjoin(
            PaymentRecovery,
            and_(
                PaymentRecovery.membership_id == Membership.id,
                PaymentRecovery.failed_at >= Membership.past_due_since,
            ),
        )
        .where(
            Membership.user_id == user_id,
            Membership.status == "past_due",
            Membership.past_due_since.is_not(None),
            PaymentRecovery.id.is_(None),
        )
        .limit(1)
    )
    if membership is None:
        return None
    amount = membership.recurring_amount or membership.amount
    return PaymentProblem(amount, membership.currency,
                          membership.past_due_since + grace_period(), None)  # fmt: skip
