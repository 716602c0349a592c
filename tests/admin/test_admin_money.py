"""Refunds through Stripe (the sandbox), webhook health with replay, and the catalogue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.accounts.models import Role
from membership.audit import AuditEntry
from membership.billing.models import Plan, Price, StripeEvent
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry
from membership.perks.models import Perk
from membership.timeutil import utcnow
from tests.billing.conftest import join
from tests.conftest import csrf_token
from tests.factories import make_user


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- refunds --------------------------------------------------------------------------------


def test_admin_refunds_a_payment_through_stripe(app, client, auth, catalogue, stripe_world):
    with app.app_context():
        reader_id = make_user(email="reader@example.org").id
        make_user(email="boss@example.org", role=Role.admin)
    auth.login()
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    auth.logout()
    auth.login(email="boss@example.org")
    with app.app_context():
        payment = db.session.scalar(select(LedgerEntry))
        assert (payment.kind, payment.amount) == (EntryKind.membership, 500)
        payment_id = payment.id
    page = f"/admin/members/{reader_id}"
    assert "once Stripe confirms it" in client.get(page).get_data(as_text=True)

    refund_url = f"{page}/payments/{payment_id}/refund"
    response = client.post(refund_url, data={**refund_form(client, page), "amount": "2"},
                           follow_redirects=True)  # fmt: skip
    text = response.get_data(as_text=True)
    assert "Stripe is refunding the payment" in text, text[text.find("flash") - 50 :][:400]
    with app.app_context():  # nothing written by the view: the webhook brings the row
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
    stripe_world.deliver()
    with app.app_context():
        refund = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.refund))
        assert (refund.amount, refund.reverses_id) == (-200, payment_id)
    assert "-€2.00" in client.get(page).get_data(as_text=True)
    assert "payment.refund_requested" in audit_actions(app)

    too_much = client.post(refund_url, data={**refund_form(client, page), "amount": "3.01"},
                           follow_redirects=True)  # fmt: skip
    assert "more than what is left" in too_much.get_data(as_text=True)
    not_money = client.post(refund_url, data={**refund_form(client, page), "amount": "lots"},
                            follow_redirects=True)  # fmt: skip
    assert "Enter the amount to refund" in not_money.get_data(as_text=True)
    assert audit_actions(app).count("payment.refund_requested") == 1


def refund_form(client, page: str) -> dict:
    """The refund form's hidden fields as one page load renders them."""
    html = client.get(page).get_data(as_text=True)
    key = re.search(r'name="action_key" value="([^"]+)"', html)
    assert key, "no action key in the refund form"
    return {"csrf_token": csrf_token(client, page), "action_key": key.group(1)}


def test_two_refunds_of_the_same_amount_are_two_and_a_double_submit_is_one(
    app, client, auth, catalogue, stripe_world
):
    with app.app_context():
        reader_id = make_user(email="reader@example.org").id
        make_user(email="boss@example.org", role=Role.admin)
    auth.login()
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    auth.logout()
    auth.login(email="boss@example.org")
    with app.app_context():
        payment_id = db.session.scalar(select(LedgerEntry.id))
    page = f"/admin/members/{reader_id}"
    refund_url = f"{page}/payments/{payment_id}/refund"

    # Two staff actions, one after the other, before Stripe's webhooks arrive.
    for _ in range(2):
        response = client.post(refund_url, data={**refund_form(client, page), "amount": "1"})
        assert response.status_code == 303
    assert len(stripe_world.sandbox.events("refund.created")) == 2
    # One form sent twice (a double click, or the browser sending it again).
    form = {**refund_form(client, page), "amount": "1"}
    for _ in range(2):
        assert client.post(refund_url, data=form).status_code == 303
    assert len(stripe_world.sandbox.events("refund.created")) == 3

    stripe_world.deliver()
    with app.app_context():
        refunds = db.session.scalars(
            select(LedgerEntry.amount).where(LedgerEntry.kind == EntryKind.refund)
        ).all()
    assert refunds == [-100, -100, -100]
    assert audit_actions(app).count("payment.refund_requested") == 4  # the replay is audited too


def test_a_refund_form_without_its_action_key_refunds_nothing(
    app, client, auth, catalogue, stripe_world
):
    with app.app_context():
        reader_id = make_user(email="reader@example.org").id
        make_user(email="boss@example.org", role=Role.admin)
    auth.login()
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    auth.logout()
    auth.login(email="boss@example.org")
    with app.app_context():
        payment_id = db.session.scalar(select(LedgerEntry.id))
    page = f"/admin/members/{reader_id}"
    form = {"csrf_token": csrf_token(client, page), "amount": "1"}
    response = client.post(f"{page}/payments/{payment_id}/refund", data=form,
                           follow_redirects=True)  # fmt: skip
    assert "The refund form was not valid" in response.get_data(as_text=True)
    assert stripe_world.sandbox.events("refund.created") == []


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_health_shows_failures_and_replays_them(app, client, auth, staff):
    with app.app_context():
        db.session.add_all([
            StripeEvent(id="evt_ok", type="invoice.paid", created=utcnow(), payload={},
                        status="processed"),
            StripeEvent(id="evt_bad", type="customer.created", created=utcnow(),
                        payload={"id": "evt_bad", "type": "customer.created", "livemode": False,
                                 "data": {"object": {}}},
                        status="failed", attempts=1, error="KeyError: 'boom'"),
        ])  # fmt: skip
        db.session.commit()
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert '<span class="figure" id="events-failed">1</span>' in page
    assert "KeyError: &#39;boom&#39;" in page and "evt_bad" in page
    response = auth.post("/admin/webhooks/evt_bad/replay", {}, form_page="/admin/webhooks",
                         follow_redirects=True)  # fmt: skip
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.get(StripeEvent, "evt_bad")
        assert stored.status == "ignored"  # no handler for this type: nothing left to fail
    assert "stripe.event_replayed" in audit_actions(app)
    assert "No failed events." in client.get("/admin/webhooks").get_data(as_text=True)
    assert auth.post("/admin/webhooks/evt_nope/replay", {}, form_page="/admin/webhooks"
                     ).status_code == 404  # fmt: skip


def test_webhook_health_shows_the_last_reconciliation(app, client, staff):
    from membership import audit

    with app.app_context():
        audit.record("stripe.reconciled", "stripe", "account", count=1,
                     differences=["invoice in_42: payment added to the ledger"])  # fmt: skip
        db.session.commit()
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "1 difference mended" in page and "invoice in_42" in page


# --- catalogue ------------------------------------------------------------------------------

PLAN = {
    "slug": "patron", "name": "Patron", "description": "For the generous", "currency": "eur",
    "position": "5", "active": "y", "monthly": "20", "yearly": "200.50", "trial_days": "0",
}  # fmt: skip


def test_staff_create_and_edit_a_plan(app, client, auth, catalogue, staff):
    with app.app_context():
        perk_id = db.session.scalar(select(Perk.id).where(Perk.slug == "ad-free"))
    response = auth.post("/admin/catalogue/plans/new", {**PLAN, "perks": str(perk_id)})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.slug == "patron"))
        assert [(p.interval, p.amount, p.lookup_key) for p in plan.prices] == [
            ("month", 2000, "plan:patron:month:2000:eur"),
            ("year", 20050, "plan:patron:year:20050:eur"),
        ]
        assert [p.slug for p in plan.perks] == ["ad-free"]
        plan_id = plan.id
    # A new monthly amount is a new price; the old one stops being offered.
    edit = f"/admin/catalogue/plans/{plan_id}"
    assert 'value="20.00"' in client.get(edit).get_data(as_text=True)
    assert auth.post(edit, {**PLAN, "monthly": "25"}).status_code == 303
    with app.app_context():
        prices = db.session.scalars(select(Price).where(Price.plan_id == plan_id)
                                    .order_by(Price.id)).all()  # fmt: skip
        assert [(p.interval, p.amount, p.active) for p in prices] == [
            ("month", 2000, False), ("year", 20050, True), ("month", 2500, True),
        ]  # fmt: skip
    actions = audit_actions(app)
    assert "plan.created" in actions and "plan.changed" in actions


def test_plan_form_refuses_bad_input_and_writes_nothing(app, auth, catalogue, staff):
    bad = [
        {**PLAN, "monthly": "-5"}, {**PLAN, "monthly": "5.001"}, {**PLAN, "yearly": "abc"},
        {**PLAN, "slug": "supporter"}, {**PLAN, "slug": "Bad Slug"}, {**PLAN, "name": "x" * 10_000},
        {**PLAN, "description": "x" * 10_000}, {**PLAN, "monthly": "", "yearly": ""},
        {**PLAN, "pay_what_you_want": "y", "minimum": ""}, {**PLAN, "trial_days": "-1"},
    ]  # fmt: skip
    for data in bad:
        response = auth.post("/admin/catalogue/plans/new", data)
        assert response.status_code == 400, data
    with app.app_context():
        assert db.session.scalar(select(func.count(Plan.id))) == 3
        assert db.session.scalar(select(Plan).where(Plan.slug == "patron")) is None


def test_staff_create_and_edit_perks(app, client, auth, catalogue, staff):
    data = {"slug": "podcast", "name": "The podcast", "description": "Weekly", "position": "9",
            "active": "y"}  # fmt: skip
    assert auth.post("/admin/catalogue/perks/new", data).status_code == 303
    assert auth.post("/admin/catalogue/perks/new", data).status_code == 400  # duplicate slug
    assert auth.post("/admin/catalogue/perks/new", {**data, "slug": "x", "name": "y" * 10_000}
                     ).status_code == 400  # fmt: skip
    with app.app_context():
        perk = db.session.scalar(select(Perk).where(Perk.slug == "podcast"))
        perk_id = perk.id
    response = auth.post(f"/admin/catalogue/perks/{perk_id}", {**data, "name": "Our podcast"})
    assert response.status_code == 303
    assert "Our podcast" in client.get("/admin/catalogue").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Perk.id))) == 5


def test_sync_to_stripe_twice_creates_nothing_new(app, auth, catalogue, staff, stripe_world):
    first = auth.post("/admin/catalogue/sync", {}, form_page="/admin/catalogue",
                      follow_redirects=True).get_data(as_text=True)  # fmt: skip
    assert "3 products and 4 prices created" in first
    second = auth.post("/admin/catalogue/sync", {}, form_page="/admin/catalogue",
                       follow_redirects=True).get_data(as_text=True)  # fmt: skip
    assert "0 products and 0 prices created" in second
    with app.app_context():
        assert db.session.scalar(select(func.count(Price.id)).where(Price.stripe_price_id.is_(None))
                                 ) == 0  # fmt: skip
    assert audit_actions(app).count("catalogue.synced") == 2


@pytest.mark.config(WEBHOOK_PROCESSING="queued")
def test_webhook_health_in_queued_mode_shows_waiting_events_and_the_next_attempt(
    app, client, staff
):
    with app.app_context():
        db.session.add_all([
            StripeEvent(id="evt_wait", type="invoice.paid", created=utcnow(), payload={},
                        status="received"),
            StripeEvent(id="evt_bad", type="invoice.paid", created=utcnow(), payload={},
                        status="failed", attempts=2, error="RuntimeError: hiccup",
                        next_attempt_at=utcnow() + timedelta(minutes=5)),
        ])  # fmt: skip
        db.session.commit()
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert '<span class="figure" id="events-received">1</span>' in page
    assert "waiting for the worker" in page
    assert "The worker retries a failed event after 10 seconds, 1 minute, 5 minutes" in page
    assert "RuntimeError: hiccup" in page
