"""Staff pages for the catalogue: plans with their prices and perks, and the sync to Stripe."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from membership.accounts.forms import EmptyForm
from membership.admin import services
from membership.admin.forms import PerkForm, PlanForm
from membership.admin.views import bp
from membership.billing.models import Plan
from membership.extensions import db
from membership.money import MoneyError, to_major, to_minor
from membership.perks.models import Perk


@bp.route("/catalogue")
def catalogue():
    """Plans, their prices and perks."""
    plans = db.session.scalars(select(Plan).order_by(Plan.position, Plan.id)).all()
    perks = db.session.scalars(select(Perk).order_by(Perk.position, Perk.id)).all()
    return render_template("admin/catalogue.html", plans=plans, perks=perks, form=EmptyForm())


def _plan_form(plan: Plan | None = None, **kwargs) -> PlanForm:
    """The plan form with the perks to choose from (and the plan's values when editing)."""
    form = PlanForm(**kwargs)
    perks = db.session.scalars(select(Perk).order_by(Perk.position, Perk.id))
    form.perks.choices = [(p.id, p.name) for p in perks]
    return form


def _fill(form: PlanForm, plan: Plan) -> None:
    """Show a plan's current values, amounts in major units."""
    form.slug.data, form.name.data, form.description.data = plan.slug, plan.name, plan.description
    form.currency.data, form.position.data, form.active.data = (
        plan.currency, plan.position, plan.active,
    )  # fmt: skip
    form.pay_what_you_want.data, form.trial_days.data = plan.pay_what_you_want, plan.trial_days
    if plan.minimum_amount:
        form.minimum.data = str(to_major(plan.minimum_amount, plan.currency))
    for interval, name in (("month", "monthly"), ("year", "yearly")):
        price = plan.price_for(interval)
        getattr(form, name).data = str(to_major(price.amount, price.currency)) if price else ""
    form.perks.data = [p.id for p in plan.perks]


def _amount(form: PlanForm, name: str) -> int | None:
    """A major-unit field as minor units; None when empty; adds an error when not money."""
    field = getattr(form, name)
    if not (field.data or "").strip():
        return None
    try:
        return to_minor(field.data, form.currency.data, maximum=100_000_000)
    except MoneyError:
        field.errors.append(_("Enter an amount such as 5 or 12.50."))
        return None


def _save_plan(plan: Plan | None):
    """Validate the plan form and save it, or show it again with its errors."""
    form = _plan_form()
    if form.validate_on_submit():
        amounts = {name: _amount(form, name) for name in ("monthly", "yearly", "minimum")}
        if not any(getattr(form, n).errors for n in amounts):
            data = services.PlanData(
                slug=form.slug.data, name=form.name.data.strip(),
                description=(form.description.data or "").strip(), currency=form.currency.data,
                position=form.position.data or 0, active=form.active.data,
                pay_what_you_want=form.pay_what_you_want.data,
                minimum_amount=amounts["minimum"] or 0, trial_days=form.trial_days.data or 0,
                monthly=amounts["monthly"], yearly=amounts["yearly"], perk_ids=form.perks.data,
            )  # fmt: skip
            try:
                saved = services.save_plan(plan, data, current_user)
            except services.StaffError as exc:
                db.session.rollback()
                form.slug.errors.append(_(str(exc)))
            else:
                db.session.commit()
                flash(_("The plan %(name)s is saved.", name=saved.name))
                return redirect(url_for("admin.catalogue"), 303)
    status = 400 if any(f.errors for f in form) else 200
    return render_template("admin/plan_form.html", form=form, plan=plan), status


@bp.route("/catalogue/plans/new", methods=["GET", "POST"])
def new_plan():
    """Create a plan."""
    return _save_plan(None)


@bp.route("/catalogue/plans/<int:plan_id>", methods=["GET", "POST"])
def edit_plan(plan_id: int):
    """Change a plan; a changed amount makes a new Stripe price."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    form = _plan_form()
    if not form.is_submitted():
        _fill(form, plan)
        return render_template("admin/plan_form.html", form=form, plan=plan)
    return _save_plan(plan)


def _save_perk(perk: Perk | None):
    """Validate the perk form and save it, or show it again with its errors."""
    form = PerkForm()
    if perk is not None and not form.is_submitted():
        form = PerkForm(obj=perk)
    if form.validate_on_submit():
        data = services.PerkData(
            slug=form.slug.data, name=form.name.data.strip(),
            description=(form.description.data or "").strip(),
            position=form.position.data or 0, active=form.active.data,
        )  # fmt: skip
        try:
            saved = services.save_perk(perk, data, current_user)
        except services.StaffError as exc:
            db.session.rollback()
            form.slug.errors.append(_(str(exc)))
        else:
            db.session.commit()
            flash(_("The perk %(name)s is saved.", name=saved.name))
            return redirect(url_for("admin.catalogue"), 303)
    status = 400 if any(f.errors for f in form) else 200
    return render_template("admin/perk_form.html", form=form, perk=perk), status


@bp.route("/catalogue/perks/new", methods=["GET", "POST"])
def new_perk():
    """Create a perk."""
    return _save_perk(None)


@bp.route("/catalogue/perks/<int:perk_id>", methods=["GET", "POST"])
def edit_perk(perk_id: int):
    """Change a perk."""
    return _save_perk(db.session.get(Perk, perk_id) or abort(404))


@bp.route("/catalogue/sync", methods=["POST"])
def sync():
    """Push active plans and prices to Stripe; running it twice creates nothing new."""
    if EmptyForm().validate_on_submit():
        try:
            result = services.sync_catalogue(current_user)
        except services.StaffError as exc:
            db.session.rollback()
            flash(_(str(exc)), "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Stripe is up to date: %(products)d products and %(prices)d prices created, "
                    "%(linked)d prices linked.",
                    products=result.products_created,
                    prices=result.prices_created,
                    linked=result.prices_linked,
                )
            )
    return redirect(url_for("admin.catalogue"), 303)
