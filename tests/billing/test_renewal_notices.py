"""Mails ahead of a charge, from Stripe's own events in the sandbox: "your trial ends on …"
(customer.subscription.trial_will_end) and the yearly renewal notice (invoice.upcoming)."""

from __future__ import annotations

import pytest
from babel.dates import format_date

from membership.accounts.models import User
from membership.extensions import db
from tests.billing.conftest import join, membership_of

READER = "reader@example.org"
TRIAL = "Your free trial ends soon"
RENEWAL = "Your yearly membership renews soon"


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.to(READER)]


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def test_a_trial_member_is_told_when_the_trial_ends_once(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth, plan="insider"))
    stripe_world.deliver()
    trial_end = membership_of(app, reader).trial_end
    stripe_world.advance(days=10)
    assert of_type(stripe_world.new_events(), "customer.subscription.trial_will_end") == []
    stripe_world.advance(days=1.5)  # Stripe sends it three days before the trial ends
    events = stripe_world.new_events()
    assert len(of_type(events, "customer.subscription.trial_will_end")) == 1
    stripe_world.deliver(events + events)  # duplicated
    assert subjects(mailbox).count(TRIAL) == 1
    text = mailbox.body(mailbox.last_to(READER))
    assert "Hello Nino," in text
    assert f"Your free trial of Insider ends on {format_date(trial_end, 'long', 'en')}." in text
    assert "€12.00 a month" in text

    stripe_world.advance(days=3)  # the trial ends and the first month is charged
    stripe_world.deliver()
    assert membership_of(app, reader).status == "active"
    assert subjects(mailbox).count(TRIAL) == 1


def test_the_trial_mail_is_in_the_members_language(app, reader, auth, stripe_world, mailbox):
    with app.app_context():
        db.session.get(User, reader).locale = "ru"
        db.session.commit()
    stripe_world.pay(join(auth, plan="insider"))
    stripe_world.deliver()
    trial_end = membership_of(app, reader).trial_end
    mailbox.clear()
    stripe_world.advance(days=11.5)
    stripe_world.deliver()
    (mail,) = mailbox.to(READER)
    assert mail["Subject"] != TRIAL
    text = mailbox.body(mail)
    assert format_date(trial_end, "long", "ru") in text and "12,00" in text


def test_a_late_trial_event_after_the_trial_sends_nothing(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth, plan="insider"))
    stripe_world.deliver()
    stripe_world.advance(days=15)
    events = stripe_world.new_events()
    late = of_type(events, "customer.subscription.trial_will_end")
    stripe_world.deliver([e for e in events if e not in late])
    stripe_world.deliver(late)  # delivered after the trial already ended
    assert TRIAL not in subjects(mailbox)


@pytest.mark.config(TRIAL_ENDING_MAIL=False)
def test_the_trial_mail_can_be_turned_off(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth, plan="insider"))
    stripe_world.advance(days=11.5)
    stripe_world.deliver()
    assert TRIAL not in subjects(mailbox)


def test_a_yearly_member_is_told_of_the_renewal_once(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth, interval="year"))
    stripe_world.deliver()
    renews = membership_of(app, reader).current_period_end
    stripe_world.advance(days=357)
    assert of_type(stripe_world.new_events(), "invoice.upcoming") == []
    stripe_world.advance(days=2)  # seven days before the renewal
    events = stripe_world.new_events()
    (upcoming,) = of_type(events, "invoice.upcoming")
    assert upcoming["data"]["object"]["id"] is None  # a preview, as Stripe's
    stripe_world.deliver([*events, upcoming])
    assert subjects(mailbox).count(RENEWAL) == 1
    text = mailbox.body(mailbox.last_to(READER))
    expected = f"Your yearly Supporter membership renews on {format_date(renews, 'long', 'en')}"
    assert f"{expected} for €50.00." in text

    stripe_world.advance(days=8)  # renewed and paid
    stripe_world.deliver()
    assert membership_of(app, reader).current_period_end > renews
    assert subjects(mailbox).count(RENEWAL) == 1


def test_a_renewal_notice_that_arrives_after_the_renewal_sends_nothing(
    app, reader, auth, stripe_world, mailbox
):
    stripe_world.pay(join(auth, interval="year"))
    stripe_world.deliver()
    stripe_world.advance(days=370)
    events = stripe_world.new_events()
    late = of_type(events, "invoice.upcoming")
    assert len(late) == 1
    stripe_world.deliver([e for e in events if e not in late])
    stripe_world.deliver(late)
    assert RENEWAL not in subjects(mailbox)


def test_monthly_members_get_no_renewal_notice(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    stripe_world.advance(days=31)
    events = stripe_world.new_events()
    assert len(of_type(events, "invoice.upcoming")) == 1
    stripe_world.deliver(events)
    assert RENEWAL not in subjects(mailbox)


@pytest.mark.config(RENEWAL_NOTICE_MAIL=False)
def test_the_renewal_notice_can_be_turned_off(app, reader, auth, stripe_world, mailbox):
    stripe_world.pay(join(auth, interval="year"))
    stripe_world.advance(days=360)
    stripe_world.deliver()
    assert RENEWAL not in subjects(mailbox)
