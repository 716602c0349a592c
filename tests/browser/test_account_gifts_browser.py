"""A reader's account page in Chromium: a membership, perks from a gift, a monthly gift they
stop, and the thank-you page of a gift to one newsroom."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import Donation
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow
from tests.billing.conftest import join
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, campaign, give_and_pay  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_account_page_with_membership_gift_perks_and_a_monthly_gift_to_stop(
    app,
    live_server,
    page,
    auth,
    stripe_world,
    campaign,  # noqa: F811
):
    with app.app_context():
        user_id = make_user(email="tamar@example.org", name="Tamar").id
    auth.login(email="tamar@example.org")
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    give_and_pay(auth, stripe_world, amount="12", frequency="monthly", outlet="valley-voice",
                 email="tamar@example.org")  # fmt: skip
    with app.app_context():
        perk = db.session.scalar(select(Perk).where(Perk.slug == "members-only-articles"))
        grant = PerkGrant(user_id=user_id, perk_id=perk.id, source=GrantSource.gift,
                          source_ref="gift-1", starts_at=utcnow() - timedelta(days=1),
                          ends_at=utcnow() + timedelta(days=180), reason="gift")  # fmt: skip
        db.session.add(grant)
        donation = db.session.scalar(select(Donation))
        thanks = (f"/fundraisers/{SLUG}/thanks?donation={donation.id}"
                  f"&session_id={donation.stripe_checkout_session_id}")  # fmt: skip
        db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill("tamar@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello, Tamar").wait_for()
    gift = page.locator("#monthly-gifts .monthly-gift")
    assert "€12.00 a month" in gift.inner_text() and "Next payment on" in gift.inner_text()
    shot(page, "account-membership-gift-perks-monthly-gift")

    page.get_by_role("link", name="Stop this monthly gift").click()
    page.get_by_role("heading", name="Stop your monthly gift?").wait_for()
    shot(page, "account-stop-monthly-gift-confirm")
    page.get_by_role("button", name="Yes, stop my monthly gift").click()
    page.get_by_text("Your monthly gift to Valley Voice is stopped.").wait_for()
    assert page.locator("#monthly-gifts").count() == 0
    shot(page, "account-monthly-gift-stopped")

    page.goto(f"{live_server}{thanks}")
    page.get_by_text("Your monthly gift of €12.00 to Valley Voice has arrived.").wait_for()
    shot(page, "fundraiser-thanks-outlet")


def test_account_page_of_a_reader_with_a_redeemed_gift(app, live_server, page, auth):
    from membership.billing.demo import seed_catalogue
    from membership.billing.models import Plan
    from membership.demo import Summary
    from membership.gifts.models import GiftMembership

    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        make_user(email="nino@example.org", name="Nino")
        plan = db.session.scalar(select(Plan).where(Plan.slug == "supporter"))
        gift = GiftMembership(code="GIFT-7KQ2-M9XD-4HPT", plan_id=plan.id, months=6,
                              amount=3000, currency="eur", buyer_email="g@example.org",
                              recipient_email="nino@example.org", status="paid")  # fmt: skip
        db.session.add(gift)
        db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail", exact=True).fill("nino@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/gift/redeem?code=GIFT-7KQ2-M9XD-4HPT")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Gift membership: your perks are open until").wait_for()
    assert page.get_by_text("You are not a member yet").count() == 0
    shot(page, "account-gift-perks")
