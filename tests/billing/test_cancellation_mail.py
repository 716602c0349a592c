"""'Cancellation confirmed': one mail per cancellation, saying when the perks end, whichever
way it was asked for and however often Stripe tells us; a resume and a new cancellation is a
new one. And the membership receipt: one per paid invoice."""

from __future__ import annotations

from babel.dates import format_date
from sqlalchemy import update

from membership.accounts.models import User
from membership.extensions import db
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import sdk

CANCELLED = "Your membership is cancelled"
ENDED = "Your membership has ended"
RECEIPT = "Your membership payment: receipt"


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.to("reader@example.org")]


def joined(auth, stripe_world, app, reader):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    return membership_of(app, reader)


def cancel(auth, membership, action="cancel"):
    response = auth.post(f"/account/membership/{membership.id}/{action}", form_page="/account")
    assert response.status_code == 303


def test_a_cancellation_at_period_end_is_confirmed_once_with_the_day_the_perks_end(
    app, reader, auth, stripe_world, mailbox
):
    membership = joined(auth, stripe_world, app, reader)
    mailbox.clear()
    cancel(auth, membership)
    stripe_world.deliver()  # customer.subscription.updated, after the page mirrored it
    stripe_world.redeliver_as_new()

    assert subjects(mailbox) == [CANCELLED]
    body = mailbox.body(mailbox.last_to("reader@example.org"))
    assert body.splitlines()[0] == "Hello Nino,"
    ends = format_date(membership.current_period_end, "long", locale="en")
    assert f"Your perks stay open until {ends}." in body
    assert "/account" in body  # where to resume


def test_a_resume_and_a_new_cancellation_is_a_new_confirmation(
    app, reader, auth, stripe_world, mailbox
):
    membership = joined(auth, stripe_world, app, reader)
    mailbox.clear()
    cancel(auth, membership)
    cancel(auth, membership, "resume")
    cancel(auth, membership)  # within the same second: still a cause of its own
    stripe_world.deliver()
    stripe_world.redeliver_as_new()

    assert subjects(mailbox) == [CANCELLED, CANCELLED]


def test_the_end_of_a_cancelled_membership_is_its_own_mail_and_confirms_nothing_again(
    app, reader, auth, stripe_world, mailbox
):
    membership = joined(auth, stripe_world, app, reader)
    cancel(auth, membership)
    stripe_world.deliver()
    mailbox.clear()
    stripe_world.advance(days=32)
    stripe_world.deliver()
    stripe_world.redeliver_as_new()

    assert subjects(mailbox) == [ENDED]


def test_a_cancellation_in_the_billing_portal_is_confirmed_too(
    app, reader, auth, stripe_world, mailbox
):
    membership = joined(auth, stripe_world, app, reader)
    mailbox.clear()
    sdk(stripe_world).v1.subscriptions.update(
        membership.stripe_subscription_id, {"cancel_at_period_end": True}
    )
    stripe_world.deliver()
    stripe_world.redeliver_as_new()

    assert subjects(mailbox) == [CANCELLED]


def test_an_immediate_cancellation_says_the_perks_have_ended(
    app, reader, auth, stripe_world, mailbox
):
    membership = joined(auth, stripe_world, app, reader)
    mailbox.clear()
    sdk(stripe_world).v1.subscriptions.cancel(membership.stripe_subscription_id)
    stripe_world.deliver()
    stripe_world.redeliver_as_new()

    assert subjects(mailbox) == [CANCELLED]
    body = mailbox.body(mailbox.last_to("reader@example.org"))
    assert "its perks have ended" in body
    ended = format_date(membership_of(app, reader).ended_at, "long", locale="en")
    assert f"It ended on {ended}." in body


def test_the_confirmation_is_in_the_members_language(app, reader, auth, stripe_world, mailbox):
    with app.app_context():
        db.session.execute(update(User).where(User.id == reader).values(locale="ru"))
        db.session.commit()
    membership = joined(auth, stripe_world, app, reader)
    mailbox.clear()
    cancel(auth, membership)

    (message,) = mailbox.to("reader@example.org")
    body = mailbox.body(message)
    assert format_date(membership.current_period_end, "long", locale="ru") in body
    assert "Your perks" not in body


def test_each_paid_invoice_has_one_receipt(app, reader, auth, stripe_world, mailbox):
    membership = joined(auth, stripe_world, app, reader)
    stripe_world.advance(days=31)  # the first renewal
    stripe_world.deliver()
    stripe_world.redeliver_as_new()

    receipts = [m for m in mailbox.to("reader@example.org") if m["Subject"] == RECEIPT]
    assert len(receipts) == 2
    body = mailbox.body(receipts[0])
    assert "Amount: €5.00 (EUR)" in body
    assert "For: Supporter membership, monthly" in body
    assert "Received by: Newsroom Members" in body
    numbers = {
        line for m in receipts for line in mailbox.body(m).splitlines()
        if line.startswith("Receipt number:")
    }  # fmt: skip
    assert len(numbers) == 2  # each payment its own number
    assert membership.plan_id is not None
