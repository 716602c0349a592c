"""Joining: plans, Checkout, the return pages, the billing portal, cancel and resume; the
"update my card" link of payment-recovery mails and the account page's banner."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from membership import attribution
from membership.accounts import sections
from membership.accounts.forms import EmptyForm
from membership.accounts.tokens import InvalidToken
from membership.billing import checkout as joining
from membership.billing import dunning, labels, services
from membership.billing import stripe_gateway as gateway
from membership.billing.forms import CheckoutForm
from membership.billing.models import Membership, Plan
from membership.extensions import db
from membership.ledger import services as ledger
from membership.perks.services import access_by_source, active_grants, perks_held
from membership.security import KEPT_AT_SIGN_IN
from membership.timeutil import utcnow

bp = Blueprint("billing", __name__)
log = logging.getLogger(__name__)


def active_plans() -> list[Plan]:
    """The plans readers can buy, in display order."""
    return list(
        db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.position, Plan.id))
    )


@bp.route("/plans")
def plans():
    """The plans and what each opens."""
    return render_template(
        "billing/plans.html", plans=active_plans(), form=CheckoutForm(ref=request.args.get("ref"))
    )


CHECKOUT_ERRORS = {
    "interval": lambda: _("Choose monthly or yearly."),
    "amount": lambda: _("Enter an amount, such as 5 or 7.50."),
    "minimum": lambda: _("That is below this plan's minimum."),
    "plan": lambda: _("This plan is not available."),
    "no-customer": lambda: _("You have no payments to manage yet."),
}


@bp.post("/plans/<slug>/checkout")
def checkout(slug: str, choice: MultiDict | None = None):
    """303 to Stripe Checkout; anonymous readers register or sign in first, then go on to it
    (continue_checkout() calls this with the `choice` they made)."""
    plan = db.session.scalar(select(Plan).where(Plan.slug == slug, Plan.active))
    if plan is None:
        abort(404)
    form = CheckoutForm() if choice is None else CheckoutForm(choice, meta={"csrf": False})
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        problem = "amount" if form.amount.errors else "interval"
        flash(CHECKOUT_ERRORS[problem](), "error")
        return redirect(url_for("billing.plans") + f"#plan-{slug}", 303)
    if not current_user.is_authenticated:
        return _sign_in_first(slug, form)
    try:
        url = joining.start_checkout(
            current_user, plan, form.interval.data, form.amount.data, form.ref.data or "",
            touch=attribution.current(),
        )  # fmt: skip
    except joining.AlreadyMember:
        db.session.rollback()
        flash(_("You are a member already: change your plan here."))
        return _to_portal()
    except joining.CheckoutError as exc:
        db.session.rollback()
        flash(CHECKOUT_ERRORS.get(str(exc), CHECKOUT_ERRORS["plan"])(), "error")
        return redirect(url_for("billing.plans") + f"#plan-{slug}", 303)
    db.session.commit()
    return redirect(url, 303)


JOIN_CHOICE = "join_choice"  # session key: the plan an anonymous reader chose
KEPT_AT_SIGN_IN.add(JOIN_CHOICE)


def _sign_in_first(slug: str, form: CheckoutForm):
    """Keep the reader's choice in their session and send them to register (or sign in), which
    leads on to continue_checkout()."""
    session[JOIN_CHOICE] = {
        "plan": slug,
        "interval": form.interval.data,
        "amount": form.amount.data or "",
        "ref": form.ref.data or "",
    }
    flash(_("Create an account or sign in: then you go straight on to payment."))
    onward = url_for("billing.continue_checkout", slug=slug)
    return redirect(url_for("accounts.register", next=onward), 303)


@bp.get("/plans/<slug>/checkout/continue")
@login_required
def continue_checkout(slug: str):
    """Where registering or signing in leads a reader who chose a plan first: on to Checkout.
    Only a choice this browser posted (CSRF-checked) is in its session: a link from elsewhere
    starts nothing and shows the plans."""
    choice = session.pop(JOIN_CHOICE, None)
    if not isinstance(choice, dict) or choice.get("plan") != slug:
        return redirect(url_for("billing.plans") + f"#plan-{slug}", 303)
    return checkout(slug, MultiDict({k: str(v) for k, v in choice.items() if k != "plan"}))


@bp.route("/checkout/success")
@login_required
def checkout_success():
    """Says "confirming" until Stripe's webhook has arrived; grants nothing by itself."""
    membership = joining.live_membership(current_user)
    return render_template("billing/success.html", membership=membership)


@bp.route("/checkout/cancel")
def checkout_cancel():
    """The reader left Checkout without paying."""
    return render_template("billing/cancel.html")


@bp.post("/account/billing-portal")
@login_required
def billing_portal():
    """303 to Stripe's billing portal."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _to_portal()


def _to_portal():
    """Redirect to a new billing portal session, or back with a message."""
    try:
        url = joining.portal_url(current_user)
    except joining.CheckoutError:
        flash(CHECKOUT_ERRORS["no-customer"](), "error")
        return redirect(url_for("billing.plans"), 303)
    return redirect(url, 303)


@bp.get("/account/fix-payment/<token>")
def fix_payment(token: str):
    """The payment-recovery mails' button: while the renewal is failing, 303 to the member's
    billing portal, no password needed (the signed link is the proof, as Stripe's own hosted
    invoice link is). Once paid, or lost, or expired, it only says so. It changes nothing
    here, so a mail scanner that opens it does no harm."""
    try:
        recovery = dunning.recovery_from_link(token)
    except InvalidToken:
        db.session.rollback()
        return render_template("billing/fix_payment.html", state="invalid"), 400
    user = recovery.user
    if recovery.status != "failing" or user.deleted_at is not None:
        state = "paid" if recovery.status == "recovered" else "invalid"
        return render_template("billing/fix_payment.html", state=state), (
            200 if state == "paid" else 400
        )
    try:
        url = joining.portal_url(user)
    except joining.CheckoutError:
        return render_template("billing/fix_payment.html", state="invalid"), 400
    except gateway.PaymentProviderError:
        if not recovery.hosted_invoice_url:
            raise
        log.warning("billing portal unavailable; sending the reader to the hosted invoice")
        url = recovery.hosted_invoice_url
    return redirect(url, 303)


@bp.post("/account/membership/<int:membership_id>/<any(resume):action>")
@login_required
def change_membership(membership_id: int, action: str):
    """Undo a cancellation at the end of the paid period (cancelling: cancel_views.py)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.user_id != current_user.id or not membership.is_live:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.set_cancel_at_period_end(membership, False, current_user)
    db.session.commit()
    flash(_("Your membership continues. Thank you!"))
    return redirect(url_for("accounts.account"), 303)


bp.add_app_template_global(labels.payment_label, "payment_label")
bp.add_app_template_filter(labels.status_label, "status_label")
bp.add_app_template_filter(labels.interval_label, "interval_label")


def account_section(user) -> dict:
    """The membership part of the account page."""
    memberships = services.memberships_of(user.id)
    payments = ledger.entries_of(user.id)
    grants = active_grants(user.id)
    return {
        "membership": next((m for m in memberships if m.is_live), None),
        "past": [m for m in memberships if not m.is_live],
        "grants": grants,
        "access": access_by_source(grants),  # perks from gifts, the newsroom, rewards
        "perks": perks_held(grants),  # each perk once, with its latest end
        "payments": payments,
        "form": EmptyForm(),
        "now": utcnow(),  # a pause that begins at the end of the paid period is still ahead
    }


def payment_banner(user) -> dict:
    """The banner above the account page while a renewal is failing."""
    return {"problem": dunning.payment_problem(user.id), "form": EmptyForm()}


sections.register("billing/_payment_banner.html", payment_banner)  # first: above everything
sections.register("billing/_account_membership.html", account_section)

from membership.billing import cancel_views  # noqa: E402, F401  (the cancel page's routes)
