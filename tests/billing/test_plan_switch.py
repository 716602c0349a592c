"""A plan switch in Stripe's billing portal: the membership, its perks and the access API follow
the subscription's new price, both ways."""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import timedelta

from sqlalchemy import select

from membership.billing.models import Plan, Price
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.perks.services import active_perk_slugs
from tests.billing.conftest import join, membership_of

SUPPORTER = ["ad-free", "members-only-articles"]
INSIDER = ["ad-free", "event-invitations", "insider-newsletter", "members-only-articles"]


def price_id(app, plan: str, interval: str = "month") -> str:
    """The Stripe price of a plan, as staff's sync (or the first Join) made it."""
    with app.app_context():
        price = db.session.scalar(
            select(Price).join(Plan).where(Plan.slug == plan, Price.interval == interval)
        )
        if price.stripe_price_id is None:
            from membership.billing import services

            services.sync_price(price)
            db.session.commit()
        return price.stripe_price_id


def switch_in_portal(app, reader, auth, stripe_world, plan: str, interval: str = "month"):
    """The reader opens the billing portal and picks another plan there; Stripe tells the app."""
    portal = auth.post("/account/billing-portal", form_page="/account").headers["Location"]
    subscription = membership_of(app, reader).stripe_subscription_id
    price = price_id(app, plan, interval)
    form = {"action": "switch", "subscription": subscription, "price": price}
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(portal, data=data, timeout=10) as answer:  # noqa: S310 - sandbox
        assert "Your plan was changed" in answer.read().decode()
    stripe_world.deliver()


def may_use(client, perk: str) -> bool:
    """Whether the access API answers the CMS that the signed-in reader holds a perk (not a
    free metered read)."""
    response = client.get("/api/v1/access", query_string={"article": "a-1", "perk": perk})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    return answer["allowed"] and perk in answer["perks"]


def test_downgrade_in_the_portal_moves_the_member_to_the_cheaper_plan_and_closes_its_perks(
    app, reader, auth, client, stripe_world
):
    stripe_world.pay(join(auth, "insider", "month"))
    stripe_world.deliver()
    with app.app_context():
        assert active_perk_slugs(reader) == INSIDER
    assert may_use(client, "insider-newsletter") is True

    switch_in_portal(app, reader, auth, stripe_world, "supporter")

    membership = membership_of(app, reader)
    with app.app_context():
        assert db.session.get(Plan, membership.plan_id).slug == "supporter"
        assert active_perk_slugs(reader) == SUPPORTER
    assert membership.amount == 500
    assert may_use(client, "insider-newsletter") is False
    assert may_use(client, "event-invitations") is False
    assert may_use(client, "members-only-articles") is True
    account = client.get("/account").get_data(as_text=True)
    assert "Supporter" in account and 'data-perk="insider-newsletter"' not in account


def test_upgrade_in_the_portal_opens_the_dearer_plans_perks(
    app, reader, auth, client, stripe_world
):
    stripe_world.pay(join(auth, "supporter", "month"))
    stripe_world.deliver()
    assert may_use(client, "insider-newsletter") is False

    switch_in_portal(app, reader, auth, stripe_world, "insider", "year")

    membership = membership_of(app, reader)
    with app.app_context():
        assert db.session.get(Plan, membership.plan_id).slug == "insider"
        assert active_perk_slugs(reader) == INSIDER
        # Another interval starts a new billing cycle: the yearly price is charged at once.
        payments = [
            e.amount for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]
    assert payments == [500, 12000]
    assert (membership.interval, membership.amount) == ("year", 12000)
    assert membership.current_period_end - membership.current_period_start >= timedelta(days=365)
    assert may_use(client, "insider-newsletter") is True

    # And back down again: the perks the upgrade opened close once more.
    switch_in_portal(app, reader, auth, stripe_world, "supporter")
    with app.app_context():
        assert active_perk_slugs(reader) == SUPPORTER
    assert may_use(client, "insider-newsletter") is False
