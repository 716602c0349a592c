"""The gift's two mails, read as the buyer and the recipient read them: names and addresses
from the gift, never "reader" or "someone"."""

from __future__ import annotations

import pytest

from membership.extensions import db
from tests.factories import make_user


@pytest.fixture
def catalogue(app):
    from membership.billing.demo import seed_catalogue
    from membership.demo import Summary

    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def give(auth, stripe_world, buyer_email="giver@example.org"):
    """Buy six months of Supporter for friend@example.org and let Stripe's events land."""
    data = {"plan": "supporter", "months": "6", "recipient_email": "friend@example.org",
            "message": "", "buyer_email": buyer_email}  # fmt: skip
    response = auth.post("/gift", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    stripe_world.pay(response.headers["Location"])
    stripe_world.deliver()


def first_line(mailbox, address: str) -> str:
    return mailbox.body(mailbox.last_to(address)).splitlines()[0]


def test_an_anonymous_buyers_receipt_names_the_recipient(
    app, catalogue, auth, stripe_world, mailbox
):
    give(auth, stripe_world)
    receipt = mailbox.body(mailbox.last_to("giver@example.org"))
    assert receipt.splitlines()[0] == "Hello,"
    assert "You gave 6 months of Supporter to friend@example.org, for €30.00." in receipt
    assert "someone" not in receipt and "reader" not in receipt
    code_mail = mailbox.body(mailbox.last_to("friend@example.org"))
    assert code_mail.splitlines()[0] == "Hello,"
    assert "giver@example.org gives you 6 months of Supporter membership." in code_mail


def test_names_come_from_the_buyers_and_the_recipients_accounts(
    app, catalogue, auth, stripe_world, mailbox
):
    with app.app_context():
        make_user(email="reader@example.org", name="Nino")
        make_user(email="friend@example.org", name="Tamar")
    auth.login()
    give(auth, stripe_world, buyer_email="")
    assert first_line(mailbox, "reader@example.org") == "Hello Nino,"
    code_mail = mailbox.body(mailbox.last_to("friend@example.org"))
    assert code_mail.splitlines()[0] == "Hello Tamar,"
    assert "Nino (reader@example.org) gives you 6 months of Supporter membership." in code_mail


def test_the_buyers_receipt_is_in_the_buyers_language(app, catalogue, auth, stripe_world, mailbox):
    with app.app_context():
        make_user(email="reader@example.org", name="Nino", locale="ru")
    auth.login()
    give(auth, stripe_world, buyer_email="")
    assert "30,00\xa0€" in mailbox.body(mailbox.last_to("reader@example.org"))


def test_each_gift_mail_goes_out_once_however_often_stripe_tells_us(
    app, catalogue, auth, stripe_world, mailbox
):
    give(auth, stripe_world)
    stripe_world.redeliver_as_new()
    assert len(mailbox.to("giver@example.org")) == 1
    assert len(mailbox.to("friend@example.org")) == 1


def test_a_buyer_without_an_account_gets_the_receipt_in_the_pages_language(
    app, catalogue, auth, client, stripe_world, mailbox
):
    client.get("/gift?lang=ru")
    give(auth, stripe_world)
    receipt = mailbox.body(mailbox.last_to("giver@example.org"))
    assert "30,00\xa0€" in receipt and "You gave" not in receipt
    # The recipient has no account either: the buyer's language, not English.
    assert "gives you" not in mailbox.body(mailbox.last_to("friend@example.org"))


def test_the_buyers_receipt_is_fit_for_their_records(app, catalogue, auth, stripe_world, mailbox):
    give(auth, stripe_world)
    receipt = mailbox.body(mailbox.last_to("giver@example.org"))
    assert "Receipt number: G-" in receipt
    assert "Amount: €30.00 (EUR)" in receipt
    assert "For: 6 months of Supporter, given to friend@example.org" in receipt
