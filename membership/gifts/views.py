"""Gift pages: buy a gift membership, thank-you, redeem a code."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from membership.accounts import sections
from membership.billing.models import Plan
from membership.extensions import db, limiter
from membership.gifts import services
from membership.gifts.forms import GiftForm, RedeemForm
from membership.gifts.models import GIFT_MONTHS

bp = Blueprint("gifts", __name__)
log = logging.getLogger(__name__)

ERRORS = {
    "months": lambda: _("Choose 3, 6 or 12 months."),
    "plan": lambda: _("This plan cannot be given as a gift."),
    "email": lambda: _("Enter a valid e-mail address."),
    "unknown": lambda: _("We do not know that code. Check it and try again."),
    "used": lambda: _("That code has been used already."),
    "unpaid": lambda: _("That gift is not paid yet. Try again in a few minutes."),
    "refunded": lambda: _("That gift was refunded, so its code no longer works."),
    "disputed": lambda: _("The payment for that gift was disputed, so its code no longer works."),
}


def _render(form: GiftForm, status: int = 200):
    """The gift page."""
    return render_template(
        "gifts/buy.html", form=form, plans=services.giftable_plans(), months=GIFT_MONTHS
    ), status


@bp.route("/gift", methods=["GET", "POST"])
def buy():
    """Choose a plan, a length and the recipient; 303 to Checkout."""
    form = GiftForm()
    if not form.validate_on_submit():
        return _render(form, 400 if form.errors else 200)
    if not current_user.is_authenticated and not form.buyer_email.data:
        form.buyer_email.errors.append(_("We need your address for the receipt."))
        return _render(form, 400)
    plan = db.session.scalar(select(Plan).where(Plan.slug == form.plan.data))
    buyer = current_user if current_user.is_authenticated else None
    try:
        if plan is None:
            raise services.GiftError("plan")
        url = services.start_gift_checkout(
            plan, int(form.months.data), form.recipient_email.data, form.message.data or "",
            buyer, form.buyer_email.data, str(get_locale() or "en"),
        )  # fmt: skip
    except services.GiftError as exc:
        db.session.rollback()
        form.plan.errors.append(ERRORS[str(exc)]())
        return _render(form, 400)
    db.session.commit()
    return redirect(url, 303)


@bp.route("/gift/thanks")
def thanks():
    """After paying: the code goes to the recipient by mail once Stripe confirms."""
    return render_template("gifts/thanks.html")


@bp.route("/gift/redeem", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], methods=["POST"])
def redeem():
    """Enter a gift code; the perks open at once."""
    form = RedeemForm(code=request.args.get("code", "")[:40])
    if form.validate_on_submit():
        try:
            gift = services.redeem(form.code.data, current_user)
        except services.GiftError as exc:
            db.session.rollback()
            form.code.errors.append(ERRORS[str(exc)]())
        else:
            db.session.commit()
            flash(
                _("Your gift is open: %(plan)s for %(months)d months.", plan=gift.plan.name,
                  months=gift.months)
            )  # fmt: skip
            return redirect(url_for("accounts.account"), 303)
    return render_template("gifts/redeem.html", form=form), 400 if form.errors else 200


def account_section(user) -> dict:
    """The gift memberships the reader gave, on the account page."""
    gifts = services.gifts_bought(user.id)
    by_intent = {gift.payment_intent_id: gift for gift in gifts if gift.payment_intent_id}
    return {"gifts": gifts, "shared": {"gift_purchases": by_intent}}


sections.register("gifts/_account_gifts.html", account_section)
