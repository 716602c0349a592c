"""Staff search from one box: e-mail, names in any script, Stripe ids, gift codes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from membership.accounts.models import User
from membership.billing.models import Plan
from membership.extensions import db
from membership.fundraisers.models import Donation, DonationStatus, Frequency
from membership.gifts.models import GiftMembership
from membership.ledger.models import EntryKind, LedgerEntry
from tests.admin.conftest import add_entry, add_membership, at
from tests.factories import make_user
from tests.fundraisers.conftest import make_campaign


@pytest.fixture
def people(app, catalogue):
    """Readers with Georgian, Armenian and Russian names, a donation and a gift membership."""
    with app.app_context():
        nino = make_user(email="nino.beridze@example.ge", name="ნინო ბერიძე")
        anahit = make_user(email="anahit@example.am", name="Անահիտ Պետրոսյան")
        ivan = make_user(email="ivan@example.ru", name="Иван Петров")
        make_user(email="other@example.org", name="Someone Else")
        anahit.stripe_customer_id = "cus_Anahit0001"
        membership = add_membership(ivan.id)
        add_entry(EntryKind.membership, 500, at(2026, 2, 1), user_id=ivan.id,
                  membership_id=membership.id, payment_intent_id="pi_Ivan0001")  # fmt: skip
        campaign_id = make_campaign()
        donation = Donation(
            campaign_id=campaign_id, email="tamar@example.ge", amount=2500, currency="eur",
            frequency=Frequency.monthly, status=DonationStatus.active,
            public_name="თამარ მეფე", stripe_subscription_id="sub_Tamar0001",
        )  # fmt: skip
        db.session.add(donation)
        db.session.flush()
        db.session.add(
            LedgerEntry(
                kind=EntryKind.monthly_gift,
                amount=2500,
                currency="eur",
                occurred_at=at(2026, 2, 2),
                campaign_id=campaign_id,
                donation_id=donation.id,
                stripe_object_id="in_Tamar0001",
                payment_intent_id="pi_Tamar0001",
            )
        )
        plan_id = db.session.scalar(select(Plan.id).where(Plan.slug == "supporter"))
        db.session.add(
            GiftMembership(
                code="GIFT-7KQ2-M9XD-4HPT",
                plan_id=plan_id,
                months=3,
                amount=1500,
                currency="eur",
                buyer_id=nino.id,
                buyer_email=nino.email,
                recipient_email="friend@example.am",
                status="paid",
                payment_intent_id="pi_Gift0001",
            )
        )
        subscription = membership.stripe_subscription_id
        ids = {"nino": nino.id, "anahit": anahit.id, "ivan": ivan.id}
        db.session.commit()
        return {**ids, "subscription": subscription}


def find(client, query: str):
    answer = client.get("/admin/search", query_string={"q": query})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    groups = {}
    for group in ("members", "donations", "gifts"):
        match = re.search(rf'<section class="search-group card" id="found-{group}">(.*?)</section>',
                          html, re.S)  # fmt: skip
        groups[group] = match.group(1) if match else ""
    return groups


@pytest.mark.parametrize(
    "query, who",
    [
        ("NINO.B", "nino.beridze@example.ge"),  # e-mail prefix, any case
        ("ბერიძე", "nino.beridze@example.ge"),  # Georgian
        ("ᲜᲘᲜᲝ", "nino.beridze@example.ge"),  # Georgian capitals (Mtavruli) fold to Mkhedruli
        ("պետրոսյան", "anahit@example.am"),  # Armenian, lower case against "Պետրոսյան"
        ("ԱՆԱՀԻՏ", "anahit@example.am"),  # Armenian capitals
        ("иван", "ivan@example.ru"),  # Cyrillic
        ("cus_Anahit0001", "anahit@example.am"),  # Stripe customer
        ("pi_Ivan0001", "ivan@example.ru"),  # a membership payment
    ],
)
def test_members_are_found(app, people, client, staff, query, who):
    found = find(client, query)
    assert who in found["members"]
    assert "other@example.org" not in found["members"]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == who))
    assert f'href="/admin/members/{user_id}"' in found["members"]


def test_a_subscription_id_finds_its_member(app, people, client, staff):
    sub = people["subscription"]
    assert "ivan@example.ru" in find(client, sub)["members"]


@pytest.mark.parametrize("query", ["თამარ", "tamar@EXAMPLE", "sub_Tamar0001", "in_Tamar0001",
                                   "pi_Tamar0001"])  # fmt: skip
def test_donations_are_found(app, people, client, staff, query):
    found = find(client, query)
    assert "თამარ მეფე" in found["donations"] and "/admin/fundraisers/" in found["donations"]
    assert found["members"] == ""


@pytest.mark.parametrize("query", ["GIFT-7KQ2-M9XD-4HPT", "gift 7kq2 m9xd 4hpt", "7KQ2M9XD4HPT",
                                   "pi_Gift0001", "friend@example.am"])  # fmt: skip
def test_gift_codes_are_found(app, people, client, staff, query):
    found = find(client, query)
    assert "GIFT-7KQ2-M9XD-4HPT" in found["gifts"]
    assert f'href="/admin/members/{people["nino"]}"' in found["gifts"]  # the buyer's page


def test_nothing_matches_and_wildcards_are_literal(app, people, client, staff):
    for query in ("%", "_", "nobody@nowhere.example", "cus_Unknown", "GIFT-AAAA-BBBB-CCCC"):
        html = client.get("/admin/search", query_string={"q": query}).get_data(as_text=True)
        assert "Nothing matches." in html, query
    assert client.get("/admin/search", query_string={"q": "x" * 300}).status_code == 400


def test_the_box_is_on_every_staff_page(app, people, client, staff):
    for page in ("/admin", "/admin/members", "/admin/members/import", "/admin/webhooks"):
        html = client.get(page).get_data(as_text=True)
        assert 'role="search"' in html and 'action="/admin/search"' in html, page


def test_search_is_for_staff(app, people, client, auth):
    assert client.get("/admin/search?q=nino").status_code == 302  # anonymous: to the login
    auth.login(email="ivan@example.ru")
    assert client.get("/admin/search?q=nino").status_code == 403
