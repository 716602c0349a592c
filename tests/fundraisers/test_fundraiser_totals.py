"""Totals come from the ledger: refunds and lost disputes net, offline gifts count and are
marked, split shares add up exactly, and events in any order end at the same figures."""

from __future__ import annotations

from sqlalchemy import select

from membership.accounts.models import Role
from membership.audit import AuditEntry
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.fundraisers.models import Campaign
from membership.ledger import services as ledger
from membership.ledger.models import EntryKind, LedgerEntry
from membership.perks.models import Perk
from membership.timeutil import utcnow
from tests.factories import make_user
from tests.fundraisers.conftest import (
    SLUG,
    donations,
    give,
    give_and_pay,
    ledger_sum,
    progress,
)


def _payment_intent(app, donation_id):
    with app.app_context():
        return db.session.scalar(
            select(LedgerEntry.payment_intent_id).where(LedgerEntry.donation_id == donation_id)
        )


def test_full_and_partial_refunds_net(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="100", email="a@example.org")
    give_and_pay(auth, stripe_world, amount="10.01", outlet="valley-voice", email="b@example.org")
    first, second = donations(app)
    with app.app_context():
        gateway.refund_payment_intent(_payment_intent(app, first.id), None, "t-refund-1")
        gateway.refund_payment_intent(_payment_intent(app, second.id), 401, "t-refund-2")
    stripe_world.deliver()
    figures = progress(client)
    assert figures["raised"] == 1001 - 401
    assert {o["slug"]: o["raised"] for o in figures["outlets"]} == {
        "mountain-post": 0, "river-daily": 0, "valley-voice": 600,
    }  # fmt: skip
    assert figures["backers"] == 1  # the fully refunded donor no longer counts
    assert ledger_sum(app, campaign) == 600


def test_refund_before_payment_event(app, campaign, auth, client, stripe_world):
    url = give(auth, amount="30").headers["Location"]
    stripe_world.pay(url, email="early@example.org")
    payment_events = stripe_world.new_events()
    pi = next(e for e in payment_events if e["type"] == "payment_intent.succeeded")
    with app.app_context():
        gateway.refund_payment_intent(pi["data"]["object"]["id"], 1000, "t-early")
    refund_events = [e for e in stripe_world.new_events() if e not in payment_events]
    stripe_world.deliver(refund_events)  # the refund arrives first: the gift is recorded from it
    assert progress(client)["raised"] == 2000
    stripe_world.deliver(payment_events)
    figures = progress(client)
    assert figures["raised"] == 2000
    with app.app_context():
        rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.amount)).all()
        assert [(r.kind.value, r.amount, r.campaign_id) for r in rows] == [
            ("refund", -1000, campaign), ("gift", 3000, campaign),
        ]  # fmt: skip


def test_lost_dispute_nets_won_does_not(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="40", email="d1@example.org", card="4000000000000259")
    give_and_pay(auth, stripe_world, amount="60", email="d2@example.org", card="4000000000000259")
    disputes = [e["data"]["object"] for e in stripe_world.sandbox.events()
                if e["type"] == "charge.dispute.created"]  # fmt: skip
    assert len(disputes) == 2
    assert progress(client)["raised"] == 10000  # an open dispute moves no money for good
    stripe_world.sandbox.close_dispute(disputes[0]["id"], outcome="lost")
    stripe_world.sandbox.close_dispute(disputes[1]["id"], outcome="won")
    stripe_world.deliver()
    amounts = sorted(d["amount"] for d in disputes)
    lost = next(d["amount"] for d in disputes if d["id"] == disputes[0]["id"])
    assert amounts == [4000, 6000]
    assert progress(client)["raised"] == 10000 - lost


def test_offline_gift_counts_and_is_marked(app, campaign, auth, client, stripe_world, mailbox):
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")
    page = f"/admin/fundraisers/{campaign}"
    response = auth.post(
        f"{page}/offline-gifts",
        {"g-amount": "150", "g-outlet": "mountain-post", "g-public_name": "Village council",
         "g-email": "council@example.org", "g-note": "transfer 2026-11-20"},
        form_page=page,
    )  # fmt: skip
    assert response.status_code == 303
    figures = progress(client)
    assert figures["raised"] == 15000
    assert figures["outlets"][0]["raised"] == 15000
    assert figures["backers"] == 1
    with app.app_context():
        (row,) = db.session.scalars(select(LedgerEntry)).all()
        assert row.kind.value == "offline" and row.stripe_object_id.startswith("offline_")
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "Village council" in html and "bank transfer" in html
    assert mailbox.to("council@example.org")


def test_split_shares_follow_the_remainder_rule_for_awkward_amounts(app, campaign, client):
    # docs/fundraiser.md: a row without an outlet gives |amount| // 3 to each outlet and the
    # |amount| % 3 units left over one each to the first outlets in display order, with its sign.
    gifts = [1, 2, 3, 4, 5, 7, 11, 101, 99_999, 500_000]
    refunds = [-101, -1]
    with app.app_context():
        for n, amount in enumerate(gifts):
            ledger.record(
                EntryKind.gift, amount, "eur", f"pi_test_{n}", utcnow(),
                campaign_id=campaign,
            )  # fmt: skip
        for n, amount in enumerate(refunds):
            ledger.record(
                EntryKind.refund, amount, "eur", f"re_test_{n}", utcnow(),
                campaign_id=campaign,
            )  # fmt: skip
        db.session.commit()
    # Per gift (first, second, third outlet): 1 → 1,0,0; 2 → 1,1,0; 3 → 1,1,1; 4 → 2,1,1;
    # 5 → 2,2,1; 7 → 3,2,2; 11 → 4,4,3; 101 → 34,34,33; 99,999 → 33,333 each;
    # 500,000 → 166,667, 166,667, 166,666; refunds: -101 → -34,-34,-33 and -1 → -1,0,0.
    expected = {"mountain-post": 200_013, "river-daily": 200_011, "valley-voice": 200_007}
    figures = progress(client)
    assert {o["slug"]: o["raised"] for o in figures["outlets"]} == expected
    assert figures["raised"] == sum(gifts) + sum(refunds) == sum(expected.values())


def test_staff_amounts_beyond_the_columns_are_refused(app, campaign, auth, client):
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")
    page = f"/admin/fundraisers/{campaign}"
    too_big = "99999999"  # 9,999,999,900 cents: more than an INTEGER column holds
    gift = auth.post(f"{page}/offline-gifts", {"g-amount": too_big, "g-outlet": "all"},
                     form_page=page)  # fmt: skip
    milestone = auth.post(f"{page}/milestones", {"m-amount": too_big, "m-title": "Far"},
                          form_page=page)  # fmt: skip
    outlet_fields = {"o-slug": "far-away", "o-name": "Far", "o-position": "99999999999"}
    outlet = auth.post(f"{page}/outlets", outlet_fields, form_page=page)
    assert [gift.status_code, milestone.status_code, outlet.status_code] == [303, 303, 303]
    assert progress(client)["raised"] == 0
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        assert [o.slug for o in c.outlets] == ["mountain-post", "river-daily", "valley-voice"]
        assert all(m.title != "Far" for m in c.milestones)


def test_staff_milestones_and_rewards_are_audited(app, campaign, auth):
    with app.app_context():
        staff = make_user(email="staff@example.org", role=Role.staff).id
        perk = db.session.scalars(select(Perk)).first()
        if perk is None:
            perk = Perk(slug="ad-free", name="Ad-free")
            db.session.add(perk)
            db.session.commit()
        perk_id = perk.id
    auth.login(email="staff@example.org")
    page = f"/admin/fundraisers/{campaign}"
    auth.post(f"{page}/milestones", {"m-amount": "500", "m-title": "Night desk"}, form_page=page)
    auth.post(f"{page}/rewards", {"t-minimum": "50", "t-perk": str(perk_id), "t-months": "3"},
              form_page=page)  # fmt: skip
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        milestone = next(m.id for m in c.milestones if m.title == "Night desk")
        tier = c.reward_tiers[-1].id
    auth.post(f"{page}/milestones/{milestone}/delete", {}, form_page=page)
    auth.post(f"{page}/rewards/{tier}/delete", {}, form_page=page)
    with app.app_context():
        logged = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(
                AuditEntry.action.like("campaign.%"), AuditEntry.target_id == str(campaign)
            )
        ).all()
    assert sorted(logged) == sorted(
        (action, staff)
        for action in ("campaign.milestone", "campaign.reward", "campaign.milestone_removed",
                       "campaign.reward_removed")
    )  # fmt: skip
