"""Staff screens of the fiscal host: host settings and fee per campaign, the outlets' accounts,
grants (recorded and reversed), outlet staff, and each outlet's statement and wall moderation.

Outlet staff (an account linked to one outlet) may open only their outlet's statement and its
supporters' wall moderation here; everything else, in this blueprint and the rest of /admin, is
403 for them (the other blueprints require the staff role).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from membership.accounts.forms import EmptyForm
from membership.accounts.models import Role
from membership.admin.host_forms import HostForm, OutletGrantForm, OutletStaffForm, ReverseGrantForm
from membership.extensions import db, login_manager
from membership.fundraisers import editing
from membership.fundraisers.models import Campaign, Donation, DonationStatus, Outlet
from membership.host import accounts, grants, hosts, staffing
from membership.host.models import OutletGrant
from membership.timeutil import utcnow

bp = Blueprint("admin_host", __name__)

# What outlet staff may open, for their own outlet only (`outlet_id` in the URL).
OUTLET_STAFF_ENDPOINTS = {"admin_host.statement", "admin_host.wall", "admin_host.moderate"}

GRANT_PROBLEMS = {
    "amount": lambda: _("Enter the amount such as 250 or 1250.50."),
    "currency": lambda: _("Enter a three-letter currency code such as EUR."),
    "date": lambda: _("Enter the day the grant was paid (not in the future)."),
    "paid_amount": lambda: _("Enter the amount paid out with its currency, or leave both empty."),
    "paid_currency": lambda: _("The currency paid out must differ from the grant's."),
    "rate": lambda: _("Enter the exchange rate as a positive number such as 2.95."),
    "outlet": lambda: _("Choose one of the campaign's newsrooms."),
    "token": lambda: _("This form was already used; reload the page and try again."),
    "reversed": lambda: _("A counter-entry cannot be reversed."),
}
HOST_PROBLEMS = {
    "fee": lambda: _("Enter the host fee as a percentage from 0 to 50, such as 5 or 7.5."),
    "country": lambda: _("Enter the country as a two-letter code such as DE."),
    "legal_name": lambda: _("Enter the host's legal name."),
}
STAFF_PROBLEMS = {
    "unknown": lambda: _("No account has that address; ask them to register first."),
    "staff": lambda: _("Staff accounts see every newsroom already."),
}


@bp.before_request
def _guard():
    """Staff see everything here; outlet staff only their outlet's statement and wall."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.has_role(Role.staff):
        return None
    scope = staffing.outlet_scope(current_user)
    if (
        scope is None
        or request.endpoint not in OUTLET_STAFF_ENDPOINTS
        or (request.view_args or {}).get("outlet_id") != scope
    ):
        abort(403)
    return None


def _campaign(campaign_id: int) -> Campaign:
    """The campaign or 404."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _outlet(outlet_id: int) -> Outlet:
    """The outlet or 404."""
    outlet = db.session.get(Outlet, outlet_id)
    if outlet is None:
        abort(404)
    return outlet


def _admin_only() -> None:
    """403 unless the signed-in person is an admin."""
    if not current_user.has_role(Role.admin):
        abort(403)


@bp.get("/")
def index():
    """Every campaign with its host and outlets' balances."""
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    rows = [(c, hosts.host_for(c), accounts.accounts(c)) for c in campaigns]
    return render_template("admin/host/index.html", rows=rows)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
def campaign(campaign_id: int):
    """The campaign's host settings and fee, its outlets' accounts and outlet staff."""
    campaign = _campaign(campaign_id)
    details = hosts.host_for(campaign)
    form = HostForm()
    status = 200
    if form.is_submitted():
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            status = 422
        else:
            try:
                points = hosts.parse_percent(form.fee_percent.data)
                hosts.save_host(campaign, {
                    "legal_name": form.legal_name.data, "country": form.country.data,
                    "registration_number": form.registration_number.data,
                    "address": form.address.data, "contact": form.contact.data,
                    "fee_basis_points": points,
                }, current_user)  # fmt: skip
            except hosts.HostError as exc:
                db.session.rollback()
                flash(HOST_PROBLEMS[str(exc)](), "error")
                status = 422
            else:
                db.session.commit()
                flash(_("Host saved."))
                return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    else:
        form.legal_name.data = details.legal_name
        form.country.data = details.country
        form.registration_number.data = details.registration_number
        form.address.data = details.address
        form.contact.data = details.contact
        form.fee_percent.data = _percent(details.fee_basis_points)
    people = {o.id: staffing.staff_of(o) for o in campaign.outlets}
    return render_template(
        "admin/host/campaign.html", campaign=campaign, host=details, form=form,
        accounts=accounts.accounts(campaign), people=people, staff_form=OutletStaffForm(),
        button=EmptyForm(),
    ), status  # fmt: skip


def _percent(points: int) -> str:
    """Basis points as the percentage staff type ('7.5')."""
    whole, rest = divmod(points, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") if rest else str(whole)


@bp.get("/outlets/<int:outlet_id>")
def outlet(outlet_id: int, form: OutletGrantForm | None = None, status: int = 200):
    """An outlet's account: balance, grants (with the form for a new one), statements."""
    outlet = _outlet(outlet_id)
    campaign = outlet.campaign
    if form is None:
        form = OutletGrantForm(formdata=None)
        form.token.data = grants.new_token()
        form.currency.data = campaign.currency.upper()
        form.paid_on.data = utcnow().date()
    own = [a for a in accounts.accounts(campaign) if a.outlet.id == outlet.id]
    listed = grants.grants_of(outlet)
    reverse = ReverseGrantForm(formdata=None)
    reverse.token.data = grants.new_token()
    return render_template(
        "admin/host/outlet.html", outlet=outlet, campaign=campaign, accounts=own,
        grants=listed, reversed=grants.reversed_ids(outlet), form=form, reverse=reverse,
        periods=_recent_periods(),
    ), status  # fmt: skip


def _recent_periods(count: int = 6) -> list[str]:
    """The last months, newest first ('2026-11' …)."""
    now = utcnow()
    year, month = now.year, now.month
    out = []
    for _index in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


@bp.post("/outlets/<int:outlet_id>/grants")
def record_grant(outlet_id: int):
    """Record a grant paid to the outlet (once per form: a double click is one grant)."""
    outlet = _outlet(outlet_id)
    form = OutletGrantForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        if "token" in form.errors:
            flash(GRANT_PROBLEMS["token"](), "error")
            form.token.data = grants.new_token()
        return _grant_page(outlet, form)
    data = grants.GrantInput(
        amount=form.amount.data, currency=form.currency.data or outlet.campaign.currency,
        paid_on=form.paid_on.data, bank_reference=form.bank_reference.data or "",
        paid_amount=form.paid_amount.data or "", paid_currency=form.paid_currency.data or "",
        rate=form.rate.data or "", note=form.note.data or "",
    )  # fmt: skip
    try:
        _grant, new = grants.record_grant(outlet.campaign, outlet, data, form.token.data,
                                          current_user, utcnow().date())  # fmt: skip
    except grants.GrantError as exc:
        db.session.rollback()
        flash(GRANT_PROBLEMS[str(exc)](), "error")
        if str(exc) == "token":
            form.token.data = grants.new_token()
        return _grant_page(outlet, form)
    db.session.commit()
    flash(_("Grant recorded.") if new else _("That grant was recorded already."))
    return redirect(url_for(".outlet", outlet_id=outlet.id), 303)


def _grant_page(outlet_row: Outlet, form: OutletGrantForm):
    """The outlet page again with the form's errors (422), nothing written."""
    return outlet(outlet_row.id, form=form, status=422)


@bp.post("/grants/<int:grant_id>/reverse")
def reverse_grant(grant_id: int):
    """Undo a grant by its counter-entry."""
    grant = db.session.get(OutletGrant, grant_id)
    if grant is None:
        abort(404)
    form = ReverseGrantForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        flash(GRANT_PROBLEMS["token"](), "error")
        return redirect(url_for(".outlet", outlet_id=grant.outlet_id), 303)
    try:
        _counter, new = grants.reverse_grant(grant, form.token.data, current_user,
                                             utcnow().date(), form.note.data or "")  # fmt: skip
    except grants.GrantError as exc:
        db.session.rollback()
        flash(GRANT_PROBLEMS[str(exc)](), "error")
        return redirect(url_for(".outlet", outlet_id=grant.outlet_id), 303)
    db.session.commit()
    flash(_("Grant reversed.") if new else _("That grant was reversed already."))
    return redirect(url_for(".outlet", outlet_id=grant.outlet_id), 303)


@bp.post("/campaigns/<int:campaign_id>/outlets/<int:outlet_id>/staff")
def add_outlet_staff(campaign_id: int, outlet_id: int):
    """Let an existing account work for one outlet (admins only)."""
    _admin_only()
    outlet = _outlet(outlet_id)
    if outlet.campaign_id != campaign_id:
        abort(404)
    form = OutletStaffForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Enter the e-mail address of an existing account."), "error")
        return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
    try:
        staffing.assign(form.email.data, outlet, current_user)
    except staffing.StaffingError as exc:
        db.session.rollback()
        flash(STAFF_PROBLEMS[str(exc)](), "error")
        return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
    db.session.commit()
    flash(_("They can now see %(outlet)s's statement and moderate its wall.", outlet=outlet.name))
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


@bp.post("/outlets/<int:outlet_id>/staff/<int:user_id>/remove")
def remove_outlet_staff(outlet_id: int, user_id: int):
    """Stop an account working for an outlet (admins only)."""
    _admin_only()
    outlet = _outlet(outlet_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    staffing.unassign(user_id, outlet, current_user)
    db.session.commit()
    flash(_("Removed."))
    return redirect(url_for(".campaign", campaign_id=outlet.campaign_id), 303)


# --- what outlet staff may open too --------------------------------------------------------


@bp.get("/outlets/<int:outlet_id>/wall")
def wall(outlet_id: int):
    """The outlet's supporters' wall entries (gifts to it), with hide and show."""
    outlet = _outlet(outlet_id)
    entries = db.session.scalars(
        select(Donation)
        .where(Donation.outlet_id == outlet.id, Donation.status != DonationStatus.pending,
               (Donation.public_name != "") | (Donation.message != ""))
        .order_by(Donation.paid_at.desc(), Donation.id.desc())
        .limit(200)
    ).all()  # fmt: skip
    return render_template("admin/host/wall.html", outlet=outlet, entries=entries,
                           button=EmptyForm())  # fmt: skip


@bp.post("/outlets/<int:outlet_id>/wall/<int:donation_id>/<any(hide, show):action>")
def moderate(outlet_id: int, donation_id: int, action: str):
    """Hide a supporter's wall entry of this outlet, or show it again."""
    donation = db.session.get(Donation, donation_id)
    if donation is None or donation.outlet_id != outlet_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    editing.set_hidden(donation, action == "hide", current_user)
    db.session.commit()
    flash(_("Hidden from the wall.") if action == "hide" else _("Shown on the wall."))
    return redirect(url_for(".wall", outlet_id=outlet_id), 303)


from membership.admin import host_statement_views  # noqa: E402, F401 - adds the statement route
