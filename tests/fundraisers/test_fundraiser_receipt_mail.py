"""The donation receipt greets the donor by the name the data has."""

from __future__ import annotations

from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, give_and_pay


def greeting(mailbox, address: str) -> str:
    return mailbox.body(mailbox.last_to(address)).splitlines()[0]


def test_a_guest_donor_is_greeted_by_the_name_they_gave(app, campaign, auth, stripe_world, mailbox):
    give_and_pay(auth, stripe_world, email="ana@example.org", public_name="Ana")
    assert greeting(mailbox, "ana@example.org") == "Hello Ana,"


def test_a_donor_with_an_account_is_greeted_by_its_name(app, campaign, auth, stripe_world, mailbox):
    with app.app_context():
        make_user(email="reader@example.org", name="Nino")
    auth.login()
    give_and_pay(auth, stripe_world, email="reader@example.org")  # anonymous on the wall
    assert greeting(mailbox, "reader@example.org") == "Hello Nino,"


def test_an_anonymous_guest_is_not_called_reader(app, campaign, auth, stripe_world, mailbox):
    give_and_pay(auth, stripe_world, email="anon@example.org")
    receipt = mailbox.body(mailbox.last_to("anon@example.org"))
    assert receipt.splitlines()[0] == "Hello,"
    assert "reader" not in receipt


def test_one_receipt_however_often_stripe_tells_us(app, campaign, auth, stripe_world, mailbox):
    give_and_pay(auth, stripe_world, email="ana@example.org", public_name="Ana")
    stripe_world.redeliver_as_new()
    assert len(mailbox.to("ana@example.org")) == 1


def test_each_month_of_a_monthly_gift_has_a_receipt_of_its_own(
    app, campaign, auth, stripe_world, mailbox
):
    give_and_pay(auth, stripe_world, email="ana@example.org", frequency="monthly")
    stripe_world.advance(days=31)
    stripe_world.deliver()
    stripe_world.redeliver_as_new()
    receipts = [mailbox.body(m) for m in mailbox.to("ana@example.org")]
    assert len(receipts) == 2
    numbers = {line for body in receipts for line in body.splitlines() if "Receipt number" in line}
    assert len(numbers) == 2
    assert all("For: Reporters Together, shared by its newsrooms" in body for body in receipts)


def test_a_guest_gets_the_receipt_in_the_language_they_gave_in(
    app, campaign, auth, client, stripe_world, mailbox
):
    from email.header import decode_header, make_header

    from flask_babel import force_locale, gettext

    client.get(f"/fundraisers/{SLUG}?lang=ka")  # the switcher: remembered in a cookie
    give_and_pay(auth, stripe_world, email="nino@example.org", public_name="ნინო")
    message = mailbox.last_to("nino@example.org")
    with app.test_request_context(), force_locale("ka"):
        subject = gettext("Thank you for your gift: your receipt")
    assert subject != "Thank you for your gift: your receipt"
    assert str(make_header(decode_header(message["Subject"]))) == subject
    assert "25,00" in mailbox.body(message)  # Georgian writes the amount its own way
