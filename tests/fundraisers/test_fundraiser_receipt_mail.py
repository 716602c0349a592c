"""The donation receipt greets the donor by the name the data has."""

from __future__ import annotations

from tests.factories import make_user
from tests.fundraisers.conftest import give_and_pay


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
