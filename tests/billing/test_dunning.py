"""Payment recovery through the sandbox: a failed renewal's mails on schedule, the member's
"update my card" link, the account banner, and everything stopping once the invoice is paid."""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from babel.dates import format_date
from itsdangerous import TimestampSigner
from sqlalchemy import select

from membership.accounts import tokens
from membership.admin import recovery, reports
from membership.billing import dunning
from membership.billing.models import PaymentRecovery, RecoveryNotice
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.timeutil import from_unix, utcnow
from tests.billing.conftest import join, membership_of
from tests.conftest import Actions

FAILS_LATER = "4000000000000341"  # accepted at Checkout, every renewal fails
READER = "reader@example.org"
FAILED = "Your membership payment failed"
REMINDER = "Reminder: your membership payment is still due"
LAST = "Last notice: your membership perks are about to end"
RECEIPT = "Your membership payment: receipt"


class Clock:
    """The app's clock for payment recovery (what `flask dunning send-due` calls now)."""

    def __init__(self, monkeypatch) -> None:
        self.now = None
        monkeypatch.setattr(dunning, "utcnow", lambda: self.now or utcnow())

    def set(self, when) -> None:
        self.now = when


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.to(READER)]


def the_recovery(app) -> PaymentRecovery:
    with app.app_context():
        row = db.session.scalar(select(PaymentRecovery))
        if row is not None:
            db.session.expunge(row)
        return row


def send_due(runner, clock, when):
    """`flask dunning send-due` as cron runs it, at `when` on the app's clock."""
    clock.set(when)
    result = runner.invoke(args=["dunning", "send-due"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def failed_renewal(app, reader, auth, stripe_world, mailbox, clock):
    """A member whose first renewal failed (delivered); returns the recovery."""
    stripe_world.pay(join(auth), card=FAILS_LATER)
    stripe_world.deliver()
    mailbox.clear()  # the welcome
    stripe_world.advance(days=31)
    clock.set(from_unix(stripe_world.sandbox.now()))
    stripe_world.deliver()
    found = the_recovery(app)
    assert found is not None and found.status == "failing"
    return found


def fix_link(mailbox) -> str:
    message = next(m for m in mailbox.to(READER) if m["Subject"] == FAILED)
    return mailbox.link_in(message, "/account/fix-payment/")


def update_card_in_portal(client, link: str) -> None:
    """Follow the mail's button to the billing portal and enter a working card there."""
    response = client.get(link)
    assert response.status_code == 303
    portal = response.headers["Location"]
    form = urllib.parse.urlencode({"action": "card", "card": "4242424242424242"}).encode()
    with urllib.request.urlopen(urllib.request.Request(portal, data=form)) as answer:  # noqa: S310
        assert answer.status == 200


def test_a_failed_renewal_mails_at_once_then_reminds_then_warns_once_each(
    app, failed_renewal, mailbox, runner, clock, stripe_world
):
    r = failed_renewal
    assert r.amount_due == 500 and r.currency == "eur"
    assert r.grace_ends_at == r.failed_at + timedelta(days=7)
    assert subjects(mailbox) == [FAILED]
    first = mailbox.last_to(READER)
    text = mailbox.body(first)
    assert "Hello Nino," in text
    assert "€5.00" in text and "Supporter" in text
    assert "/account/fix-payment/" in text
    assert r.hosted_invoice_url and r.hosted_invoice_url in text
    html = next(p for p in first.walk() if p.get_content_type() == "text/html")
    assert "Update my card" in html.get_payload(decode=True).decode()

    # Nothing is due before the reminder, however often cron runs.
    send_due(runner, clock, r.failed_at + timedelta(days=2, hours=23))
    send_due(runner, clock, r.failed_at + timedelta(days=2, hours=23, minutes=59))
    assert subjects(mailbox) == [FAILED]

    # Stripe's retry on day 3 fails again: no second failure mail.
    stripe_world.advance(days=3)
    stripe_world.deliver()
    assert subjects(mailbox) == [FAILED]
    output = send_due(runner, clock, r.failed_at + timedelta(days=3, minutes=1))
    assert "1 sent" in output
    assert subjects(mailbox) == [FAILED, REMINDER]
    send_due(runner, clock, r.failed_at + timedelta(days=3, minutes=2))  # a second cron run
    assert subjects(mailbox) == [FAILED, REMINDER]

    # The last notice a day before the perks close (GRACE_DAYS 7, DUNNING_LAST_NOTICE_DAYS 1).
    send_due(runner, clock, r.grace_ends_at - timedelta(days=1, minutes=1))
    assert subjects(mailbox) == [FAILED, REMINDER]
    send_due(runner, clock, r.grace_ends_at - timedelta(hours=23))
    assert subjects(mailbox) == [FAILED, REMINDER, LAST]
    last = mailbox.body(mailbox.last_to(READER))
    assert "your perks end on" in last and "/account/fix-payment/" in last
    send_due(runner, clock, r.grace_ends_at + timedelta(days=1))
    assert subjects(mailbox) == [FAILED, REMINDER, LAST]


def test_paying_through_the_mails_link_stops_the_mails_and_the_banner(
    app, failed_renewal, mailbox, runner, clock, client, stripe_world
):
    r = failed_renewal
    page = client.get("/account").get_data(as_text=True)
    assert 'id="payment-banner"' in page and "€5.00" in page and "Update my card" in page
    assert r.hosted_invoice_url in page

    link = fix_link(mailbox)
    update_card_in_portal(app.test_client(), link)  # another browser: the link needs no sign-in
    stripe_world.deliver()
    paid = the_recovery(app)
    assert paid.status == "recovered" and paid.amount_recovered == 500
    assert r.failed_at <= paid.recovered_at <= paid.grace_ends_at
    assert membership_of(app, failed_renewal.user_id).status == "active"

    send_due(runner, clock, r.failed_at + timedelta(days=3, minutes=1))
    send_due(runner, clock, r.grace_ends_at - timedelta(hours=23))
    assert subjects(mailbox) == [FAILED, RECEIPT]  # the paid invoice's receipt, nothing more
    with app.app_context():
        statuses = {n.kind: n.status for n in db.session.scalars(select(RecoveryNotice))}
    assert statuses == {"failed": "sent", "reminder": "cancelled", "last_notice": "cancelled"}

    # Staff's funnel counts it: one failure, recovered within grace, €5.00 back.
    with app.app_context():
        day = r.failed_at.date()
        (row,) = recovery.funnel(reports.Period(day, day)).rows["eur"]
    assert (row.failed, row.recovered_in_grace, row.lost, row.amount_recovered) == (1, 1, 0, 500)

    # The link now says the payment is settled, and opens nothing.
    settled = app.test_client().get(link)
    assert settled.status_code == 200 and "Your payment is settled" in settled.get_data(True)


def test_a_payment_whose_webhook_is_late_is_not_reminded(
    app, failed_renewal, mailbox, runner, clock, stripe_world
):
    update_card_in_portal(app.test_client(), fix_link(mailbox))  # events not delivered
    send_due(runner, clock, failed_renewal.failed_at + timedelta(days=3, minutes=1))
    assert subjects(mailbox) == [FAILED, RECEIPT]  # the paid invoice's receipt, nothing more
    assert the_recovery(app).status == "recovered"
    with app.app_context():  # the renewal reached the ledger from Stripe's own answer
        assert (
            db.session.scalar(
                select(LedgerEntry.amount).where(
                    LedgerEntry.stripe_object_id == failed_renewal.stripe_invoice_id
                )
            )
            == 500
        )
    stripe_world.deliver()  # the late events change nothing more
    assert the_recovery(app).status == "recovered"
    assert subjects(mailbox) == [FAILED, RECEIPT]


def test_the_banner_shows_only_while_the_payment_fails(
    app, reader, auth, client, stripe_world, failed_renewal, clock
):
    page = client.get("/account").get_data(as_text=True)
    assert 'id="payment-banner"' in page
    assert "Please update your card by" in page
    clock.set(failed_renewal.grace_ends_at + timedelta(hours=1))
    page = client.get("/account").get_data(as_text=True)
    assert "Your perks are paused until it is paid" in page
    # Stripe gives up after its last retry: the membership ends, the banner goes.
    stripe_world.advance(days=20)
    stripe_world.deliver()
    assert the_recovery(app).status == "lost"
    assert 'id="payment-banner"' not in client.get("/account").get_data(as_text=True)


def test_a_member_who_pays_on_time_sees_no_banner(app, reader, auth, client, stripe_world):
    stripe_world.pay(join(auth))
    stripe_world.advance(days=31)
    stripe_world.deliver()
    assert 'id="payment-banner"' not in client.get("/account").get_data(as_text=True)
    assert the_recovery(app) is None


def test_a_lost_renewal_stops_its_mails(app, failed_renewal, mailbox, runner, clock, stripe_world):
    stripe_world.advance(days=20)  # retries on days 3, 8 and 15 fail; Stripe cancels
    stripe_world.deliver()
    lost = the_recovery(app)
    membership = membership_of(app, failed_renewal.user_id)
    assert membership.status == "canceled"
    assert lost.status == "lost" and lost.ended_at == membership.ended_at
    send_due(runner, clock, failed_renewal.grace_ends_at - timedelta(hours=23))
    assert subjects(mailbox) == [FAILED, "Your membership has ended"]


def test_duplicated_and_reversed_events_send_each_mail_once(
    app, reader, auth, stripe_world, mailbox, runner, clock
):
    stripe_world.pay(join(auth), card=FAILS_LATER)
    stripe_world.deliver()
    mailbox.clear()
    stripe_world.advance(days=31)
    renewal = stripe_world.new_events()
    stripe_world.deliver(list(reversed(renewal)) * 3)
    assert subjects(mailbox) == [FAILED]
    r = the_recovery(app)
    send_due(runner, clock, r.failed_at + timedelta(days=3, minutes=1))
    stripe_world.deliver(renewal)
    send_due(runner, clock, r.failed_at + timedelta(days=3, minutes=5))
    assert subjects(mailbox) == [FAILED, REMINDER]


def test_a_worker_that_was_down_sends_only_the_latest_notice(
    app, failed_renewal, mailbox, runner, clock
):
    output = send_due(runner, clock, failed_renewal.grace_ends_at - timedelta(hours=2))
    assert "1 sent" in output and "1 skipped" in output
    assert subjects(mailbox) == [FAILED, LAST]


@pytest.mark.config(DUNNING_REMINDER_DAYS=0, DUNNING_LAST_NOTICE_DAYS=0)
def test_reminders_can_be_turned_off(app, failed_renewal, mailbox, runner, clock):
    send_due(runner, clock, failed_renewal.grace_ends_at - timedelta(hours=2))
    assert subjects(mailbox) == [FAILED]


@pytest.mark.config(GRACE_DAYS=3)
def test_a_short_grace_period_skips_the_reminder_that_would_come_after_the_last_notice(
    app, failed_renewal, mailbox, runner, clock
):
    with app.app_context():
        kinds = sorted(db.session.scalars(select(RecoveryNotice.kind)))
    assert kinds == ["failed", "last_notice"]
    send_due(runner, clock, failed_renewal.failed_at + timedelta(days=2, hours=1))
    assert subjects(mailbox) == [FAILED, LAST]


def test_the_mails_speak_the_members_language(app, reader, failed_renewal, mailbox, runner, clock):
    from membership.accounts.models import User

    with app.app_context():
        db.session.get(User, reader).locale = "ru"
        db.session.commit()
    send_due(runner, clock, failed_renewal.failed_at + timedelta(days=3, minutes=1))
    reminder = mailbox.last_to(READER)
    text = mailbox.body(reminder)
    assert "5,00" in text and "€" in text
    assert reminder["Subject"] != REMINDER and "Nino" in text
    assert format_date(failed_renewal.grace_ends_at, "long", "ru") in text


def test_the_link_refuses_a_forged_or_expired_token(
    app, failed_renewal, mailbox, client, monkeypatch
):
    link = fix_link(mailbox)
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    answer = client.get(forged)
    assert answer.status_code == 400 and "This link does not work" in answer.get_data(True)
    assert client.get("/account/fix-payment/" + "x" * 2000).status_code == 400
    with app.app_context():  # signed by us, but naming no recovery of this member
        for payload in ({"r": 10**20, "u": 1}, {"r": True, "u": 1}, {"r": "1"}, {"r": 1, "u": 2}):
            token = tokens.make_token(tokens.FIX_PAYMENT, payload)
            assert client.get(f"/account/fix-payment/{token}").status_code == 400
    assert client.get(link).status_code == 303
    # PAYMENT_LINK_MAX_AGE (14 days) later, the link no longer opens the portal.
    later = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later(self) + 14 * 86400 + 1)
    assert client.get(link).status_code == 400


def test_the_worker_burst_sends_due_notices(app, failed_renewal, mailbox, runner, clock):
    clock.set(failed_renewal.failed_at + timedelta(days=3, minutes=1))
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "Payment recovery mails: 1 sent." in result.output
    assert subjects(mailbox) == [FAILED, REMINDER]


def test_the_demo_has_a_member_in_grace_with_the_banner(app, runner, stripe_world, mailbox):
    result = runner.invoke(args=["demo", "seed", "--members", "3"])
    assert result.exit_code == 0, result.output
    assert "1 member in grace with a failing card" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Member in grace"))
    password = line.rsplit(" / ", 1)[1]
    with app.app_context():
        row = db.session.scalar(
            select(PaymentRecovery).where(PaymentRecovery.user.has(email="grace@example.org"))
        )
        assert row.status == "failing" and row.membership.status == "past_due"
    assert mailbox.last_to("grace@example.org")["Subject"] == FAILED
    client = app.test_client()
    Actions(client, mailbox).login(email="grace@example.org", password=password)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="payment-banner"' in page and "€12.00" in page
