"""pause_collection and a coupon put on by a subscription update, as the cancel page uses them
(billing/cancellation.py): renewals voided while paused, resumed at `resumes_at` with
customer.subscription.updated (as Stripe), and the next invoices discounted."""

from __future__ import annotations

import pytest

from tests.sandbox.test_sandbox_billing import member  # noqa: F401  (the fixture)

DAY = 86400


def test_a_pause_voids_renewals_until_it_resumes_by_itself(client, sandbox, receiver, member):  # noqa: F811
    sub_id = member()
    sub = client.v1.subscriptions.retrieve(sub_id)
    end = sub["items"].data[0].current_period_end
    resumes = end + 31 * DAY - 3600
    sub = client.v1.subscriptions.update(sub_id, params={
        "pause_collection": {"behavior": "void", "resumes_at": resumes},
        "metadata": {"pause_from": str(end)}})  # fmt: skip
    assert sub.status == "active"  # pausing collection never changes the status
    assert (sub.pause_collection.behavior, sub.pause_collection.resumes_at) == ("void", resumes)

    sandbox.advance_clock(to=end + 60)  # the renewal inside the pause
    invoices = client.v1.invoices.list(params={"subscription": sub_id}).data
    assert invoices[0].billing_reason == "subscription_cycle"
    assert invoices[0].status == "void" and invoices[0].amount_paid == 0

    sandbox.advance_clock(to=resumes + 60)  # Stripe lifts the pause at resumes_at
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.pause_collection is None and sub.status == "active"
    assert sandbox.wait_for_deliveries(5)
    lifted = [
        e for e in (r["raw"] for r in receiver.received)
        if e["type"] == "customer.subscription.updated"
        and "pause_collection" in e["data"].get("previous_attributes", {})
        and e["data"]["object"]["pause_collection"] is None
    ]  # fmt: skip
    assert len(lifted) == 1 and lifted[0]["created"] == resumes

    sandbox.advance_clock(to=resumes + 3600 + 60)  # the next renewal is collected
    invoices = client.v1.invoices.list(params={"subscription": sub_id}).data
    assert invoices[0].status == "paid" and invoices[0].amount_paid == invoices[0].amount_due > 0


def test_pause_collection_is_lifted_by_an_empty_value(client, sandbox, member):  # noqa: F811
    sub_id = member()
    client.v1.subscriptions.update(sub_id, params={"pause_collection": {"behavior": "void"}})
    sub = client.v1.subscriptions.update(sub_id, params={"pause_collection": ""})
    assert sub.pause_collection is None


def test_an_unknown_pause_behavior_is_refused(client, member):  # noqa: F811
    import stripe

    sub_id = member()
    with pytest.raises(stripe.InvalidRequestError, match="pause_collection"):
        client.v1.subscriptions.update(sub_id, params={"pause_collection": {"behavior": "skip"}})


def test_a_coupon_put_on_by_an_update_discounts_the_next_invoices(client, sandbox, member):  # noqa: F811
    sub_id = member()
    client.v1.coupons.create(params={"id": "retention_40pct_2m", "percent_off": 40,
                                     "duration": "repeating", "duration_in_months": 2})  # fmt: skip
    sub = client.v1.subscriptions.update(sub_id, params={
        "discounts": [{"coupon": "retention_40pct_2m"}],
        "expand": ["discounts.source.coupon"]})  # fmt: skip
    assert sub.discounts[0].source.coupon.percent_off == 40
    end = sub["items"].data[0].current_period_end
    sandbox.advance_clock(to=end + 60)
    renewal = client.v1.invoices.list(params={"subscription": sub_id}).data[0]
    assert renewal.subtotal > 0 and renewal.amount_paid == round(renewal.subtotal * 0.6)
