"""MRR counts what subscriptions charge after coupons and promotion codes, not list prices."""

from __future__ import annotations

import re

import pytest

from membership.accounts.models import Role
from tests.billing.conftest import join, membership_of
from tests.billing.test_lifecycle import sdk
from tests.conftest import Actions
from tests.factories import make_user


def dashboard_mrr(app, mailbox) -> str:
    """The MRR figure staff read on the dashboard."""
    with app.app_context():
        make_user(email="boss@example.org", role=Role.admin)
    staff = Actions(app.test_client(), mailbox)
    staff.login(email="boss@example.org")
    page = staff.client.get("/admin").get_data(as_text=True)
    return re.search(r'id="stat-mrr-eur">([^<]+)<', page).group(1)


def code(stripe_world, code: str, **coupon) -> str:
    """A promotion code readers can type at Checkout."""
    api = sdk(stripe_world).v1
    made = api.coupons.create(params=coupon)
    api.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": made.id},
                                       "code": code})  # fmt: skip
    return code


def pay_with_code(stripe_world, url: str, promotion_code: str) -> None:
    """Complete Checkout typing a promotion code, as the reader would."""
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    stripe_world.sandbox.complete_checkout(session_id, promotion_code=promotion_code)
    stripe_world.deliver()


def test_a_member_with_a_half_price_code_counts_for_half_in_mrr(
    app, reader, auth, stripe_world, mailbox
):
    pay_with_code(stripe_world, join(auth), code(stripe_world, "HALF", percent_off=50,
                                                 duration="forever"))  # fmt: skip
    membership = membership_of(app, reader)
    assert (membership.amount, membership.recurring_amount) == (500, 250)
    assert dashboard_mrr(app, mailbox) == "€2.50"


def test_a_yearly_member_with_an_amount_off_code_counts_for_a_twelfth_of_what_they_pay(
    app, reader, auth, stripe_world, mailbox
):
    pay_with_code(stripe_world, join(auth, interval="year"), code(
        stripe_world, "TENOFF", amount_off=1000, currency="eur", duration="forever"))  # fmt: skip
    assert membership_of(app, reader).recurring_amount == 4000
    assert dashboard_mrr(app, mailbox) == "€3.33"  # 40.00 / 12


def test_a_repeating_coupon_counts_until_stripe_takes_it_off(
    app, reader, auth, stripe_world, mailbox
):
    two_months = code(stripe_world, "TWOMONTHS", percent_off=50, duration="repeating",
                      duration_in_months=2)  # fmt: skip
    pay_with_code(stripe_world, join(auth), two_months)
    assert membership_of(app, reader).recurring_amount == 250
    stripe_world.advance(days=65)
    stripe_world.deliver()
    assert membership_of(app, reader).recurring_amount == 500
    assert dashboard_mrr(app, mailbox) == "€5.00"


def test_a_first_month_coupon_does_not_lower_mrr(app, reader, auth, stripe_world, mailbox):
    pay_with_code(stripe_world, join(auth), code(stripe_world, "FIRST", percent_off=100,
                                                 duration="once"))  # fmt: skip
    assert membership_of(app, reader).recurring_amount == 500
    assert dashboard_mrr(app, mailbox) == "€5.00"


@pytest.mark.parametrize("off", [{"percent_off": 50}, {"amount_off": 250, "currency": "eur"}])
def test_a_coupon_staff_add_later_lowers_mrr(app, reader, auth, stripe_world, mailbox, off):
    stripe_world.pay(join(auth))
    stripe_world.deliver()
    assert dashboard_mrr(app, mailbox) == "€5.00"
    api = sdk(stripe_world).v1
    coupon = api.coupons.create(params={**off, "duration": "forever"})
    api.subscriptions.update(membership_of(app, reader).stripe_subscription_id,
                             params={"discounts": [{"coupon": coupon.id}]})  # fmt: skip
    stripe_world.deliver()
    assert membership_of(app, reader).recurring_amount == 250
