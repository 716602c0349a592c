"""Staff pages for article access: rules (staff) and CMS API keys (admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from membership.access import api_keys, services
from membership.access import rules as access_rules
from membership.access.forms import ApiKeyForm, RuleForm
from membership.access.models import AccessRule, ApiKey, RuleKind
from membership.accounts.forms import EmptyForm
from membership.extensions import db
from membership.perks.models import Perk
from membership.security import admin_required, staff_required

bp = Blueprint("access_admin", __name__)


def _perks() -> list[Perk]:
    """The catalogue's perks, in their order."""
    return list(db.session.scalars(select(Perk).order_by(Perk.position, Perk.name)))


@bp.route("/rules", methods=["GET", "POST"])
@staff_required
def rules():
    """List rules and add one."""
    perks = _perks()
    form = RuleForm(perks)
    if form.validate_on_submit():
        perk = next((p for p in perks if p.slug == form.perk.data), None)  # "" is none
        try:
            access_rules.add_rule(
                RuleKind(form.kind.data), form.value.data, perk, form.note.data or "", current_user
            )
        except services.AccessError as exc:
            db.session.rollback()
            form.value.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The rule is saved."))
            return redirect(url_for("access_admin.rules"), 303)
    return render_template(
        "admin/access/rules.html",
        form=form,
        rules=access_rules.list_rules(),
        empty_form=EmptyForm(),
    ), 400 if form.errors else 200


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@staff_required
def delete_rule(rule_id: int):
    """Remove a rule."""
    rule = db.session.get(AccessRule, rule_id) or abort(404)
    if EmptyForm().validate_on_submit():
        access_rules.delete_rule(rule, current_user)
        db.session.commit()
        flash(_("The rule is removed."))
    return redirect(url_for("access_admin.rules"), 303)


@bp.route("/keys", methods=["GET", "POST"])
@admin_required
def keys():
    """List CMS API keys and create one; a new key is shown on this response only."""
    form = ApiKeyForm()
    new_key = None
    if form.validate_on_submit():
        _row, new_key = api_keys.create_api_key(form.name.data, current_user)
        db.session.commit()
        form = ApiKeyForm(formdata=None)
    response = render_template(
        "admin/access/keys.html",
        form=form,
        keys=api_keys.list_api_keys(),
        new_key=new_key,
        empty_form=EmptyForm(),
    )
    return response, 400 if form.errors else 200, {"Cache-Control": "no-store"}


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@admin_required
def revoke_key(key_id: int):
    """Revoke a key now."""
    row = db.session.get(ApiKey, key_id) or abort(404)
    if EmptyForm().validate_on_submit():
        api_keys.revoke_api_key(row, current_user)
        db.session.commit()
        flash(_("The key is revoked."))
    return redirect(url_for("access_admin.keys"), 303)
