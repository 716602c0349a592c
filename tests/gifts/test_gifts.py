"""Gift memberships: a buyer pays for months, the recipient redeems a code and reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.gifts.models import GiftMembership
from membership.gifts.services import add_months, normalize_code
from membership.ledger.models import LedgerEntry
from membership.perks.services import active_perk_slugs
from tests.conftest import Actions
from tests.factories import make_user
from tests.fundraisers.conftest import text_of


def test_buy_redeem_and_read(app, buy, mailbox):
    buy(months="6")
    received = mailbox.last_to("friend@example.org")
    assert received["Subject"] == "You have been given a membership"
    body = mailbox.body(received)
    assert "6 months of Supporter" in body and "Happy birthday <3" in body
    code = body.split("Your code: ")[1].split()[0]
    assert mailbox.last_to("giver@example.org")["Subject"] == "Your gift membership receipt"
    with app.app_context():
        entry = db.session.scalar(select(LedgerEntry))
        assert (entry.kind.value, entry.amount, entry.currency) == ("membership", 3000, "eur")

    with app.app_context():
        friend = make_user(email="friend@example.org").id
    reader = Actions(app.test_client(), mailbox)
    reader.login(email="friend@example.org")
    page = reader.client.get(f"/gift/redeem?code={code}").get_data(as_text=True)
    assert code in page  # prefilled from the mail's link
    response = reader.post("/gift/redeem", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 303
    with app.app_context():
        assert active_perk_slugs(friend) == ["ad-free", "members-only-articles"]
        later = add_months(datetime.now(UTC), 7)
        assert active_perk_slugs(friend, at=later) == []
    again = reader.post("/gift/redeem", {"code": code})
    assert again.status_code == 400
    assert "used already" in again.get_data(as_text=True)


def test_unpaid_and_unknown_codes(app, catalogue, auth, stripe_world, mailbox):
    response = auth.post(
        "/gift",
        {"plan": "supporter", "months": "3", "recipient_email": "f@example.org",
         "buyer_email": "g@example.org"},
    )  # fmt: skip
    assert response.status_code == 303
    with app.app_context():
        code = db.session.scalar(select(GiftMembership.code))
        make_user(email="r@example.org")
    reader = Actions(app.test_client(), mailbox)
    reader.login(email="r@example.org")
    assert "not paid yet" in reader.post("/gift/redeem", {"code": code}).get_data(as_text=True)
    assert "do not know that code" in reader.post(
        "/gift/redeem", {"code": "GIFT-AAAA-BBBB-CCCC"}
    ).get_data(as_text=True)
    assert reader.post("/gift/redeem", {"code": "x" * 10_000}).status_code == 400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"months": "5"}, "Choose 3, 6 or 12 months."),
        ({"plan": "solidarity"}, "cannot be given as a gift"),
        ({"plan": "nope"}, "cannot be given as a gift"),
        ({"recipient_email": "not-an-email"}, "valid e-mail"),
        ({"buyer_email": ""}, "We need your address"),
        ({"message": "x" * 10_000}, "Field cannot be longer"),
    ],
)
def test_bad_gift_requests(app, catalogue, auth, data, message):
    form = {"plan": "supporter", "months": "6", "recipient_email": "f@example.org",
            "buyer_email": "g@example.org", **data}  # fmt: skip
    response = auth.post("/gift", form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(GiftMembership)) is None


def test_redeem_needs_an_account(client):
    response = client.get("/gift/redeem?code=GIFT-AAAA-BBBB-CCCC")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_duplicate_webhooks_record_one_payment_and_one_mail(app, buy, stripe_world, mailbox):
    buy()
    stripe_world.deliver(stripe_world.sandbox.events())  # everything again
    with app.app_context():
        assert len(db.session.scalars(select(LedgerEntry)).all()) == 1
    assert len(mailbox.to("friend@example.org")) == 1


def test_add_months_and_codes():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)
    assert normalize_code("gift 7kq2 m9xd 4hpt") == "GIFT-7KQ2-M9XD-4HPT"
    assert normalize_code("short") == ""


def test_a_gift_bought_is_listed_on_the_account_as_a_gift_to_its_recipient(
    app, catalogue, auth, client, stripe_world, mailbox
):
    with app.app_context():
        make_user(email="giver@example.org", name="Giver")
    auth.login(email="giver@example.org")
    response = auth.post(
        "/gift",
        {"plan": "supporter", "months": "12", "recipient_email": "friend@example.org"},
    )
    assert response.status_code == 303
    stripe_world.pay(response.headers["Location"])
    stripe_world.deliver()

    def sections():
        html = client.get("/account").get_data(as_text=True)
        membership = html.split('id="membership"')[1].split("</section>")[0]
        gifts = html.split('id="gifts"')[1].split("</section>")[0]
        return text_of(membership), text_of(gifts)

    membership, gifts = sections()
    assert "Gift memberships you gave" in gifts
    assert "12 months of Supporter for friend@example.org" in gifts
    assert "€60.00" in gifts and "Code sent, not redeemed yet" in gifts
    # The payment is a gift purchase in the payments, not a membership of the buyer's.
    assert "Gift membership for friend@example.org €60.00" in membership
    assert "not a member yet" in membership

    code = mailbox.body(mailbox.last_to("friend@example.org")).split("Your code: ")[1].split()[0]
    with app.app_context():
        make_user(email="friend@example.org")
    friend = Actions(app.test_client(), mailbox)
    friend.login(email="friend@example.org")
    assert friend.post("/gift/redeem", {"code": code}).status_code == 303
    assert "Redeemed on" in sections()[1]


def test_staff_see_a_gift_purchase_as_a_gift_membership_with_its_code(
    app, catalogue, auth, client, stripe_world, mailbox
):
    from membership.accounts.models import Role

    with app.app_context():
        buyer = make_user(email="giver@example.org").id
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="giver@example.org")
    response = auth.post(
        "/gift", {"plan": "supporter", "months": "6", "recipient_email": "friend@example.org"}
    )
    stripe_world.pay(response.headers["Location"])
    stripe_world.deliver()
    with app.app_context():
        code = db.session.scalar(select(GiftMembership.code))
    staff = Actions(app.test_client(), mailbox)
    staff.login(email="staff@example.org")
    html = staff.client.get(f"/admin/members/{buyer}").get_data(as_text=True)
    payments = text_of(html.split('id="payments"')[1].split("</section>")[0])
    described = f"6 months of Supporter for friend@example.org · {code} · paid"
    assert f"gift membership {described}" in payments
