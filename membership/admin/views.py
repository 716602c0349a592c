"""The staff area: dashboard, member search and a member's page with what staff can do there.

One blueprint `admin` under /admin; the catalogue, reports and webhook pages add their routes to it
from their own modules. Staff see and help; only admins refund.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from membership import attribution
from membership.accounts.forms import EmptyForm
from membership.accounts.models import Role, User
from membership.admin import cache, charts, reports, services, words
from membership.admin.csvexport import csv_response, with_decimals
from membership.admin.forms import GrantForm, NoteForm, RefundForm, SearchForm, WithdrawForm
from membership.billing.cancellation import REASONS, requests_of
from membership.extensions import db
from membership.gifts.services import gifts_bought
from membership.ledger.models import LedgerEntry
from membership.money import MoneyError, format_money, to_minor
from membership.perks.models import Perk, PerkGrant
from membership.perks.services import GrantError, grant_complimentary, withdraw_grant
from membership.security import admin_required, staff_required
from membership.timeutil import utcnow

bp = Blueprint("admin", __name__)
bp.add_app_template_filter(words.event_status_label, "event_status")
bp.add_app_template_filter(words.entry_kind_label, "entry_kind")
bp.add_app_template_filter(words.grant_source_label, "grant_source")
bp.add_app_template_filter(words.role_label, "role_label")
bp.add_app_template_filter(words.touch_text, "touch_text")
bp.add_app_template_filter(words.campaign_status_label, "campaign_status")
bp.add_app_template_filter(words.donation_status_label, "donation_status")
bp.add_app_template_filter(words.gift_status_label, "gift_status")
bp.add_app_template_filter(words.stripe_status_label, "stripe_status")
bp.add_app_template_filter(words.rule_kind_label, "rule_kind")


@bp.before_request
@staff_required
def _staff_only():
    """Every page below /admin needs the staff role at least."""
    return None


@bp.app_context_processor
def _endpoints():
    """Let the staff navigation link to areas only when they are installed."""
    return {"url_endpoints": current_app.view_functions}


@bp.route("/", strict_slashes=False)  # /admin itself, as the contract names it
def dashboard():
    """Headline figures, the last twelve months of revenue there is (cached per ledger version),
    reports."""
    head = reports.headline()
    period = reports.Period.with_data()
    revenue = cache.revenue(period)
    chart = revenue_chart(revenue)
    months = [reports.month_label(m) for m in period.months()]
    return render_template("admin/dashboard.html", head=head, revenue=revenue, chart=chart,
                           period=period, months=months, reports=report_views.REPORTS)  # fmt: skip


def revenue_chart(revenue: dict[str, list[reports.RevenueRow]]):
    """Stacked monthly revenue by source, for the currency with the most money."""
    if not revenue:
        return None
    currency = max(revenue, key=lambda c: sum(r.net for r in revenue[c]))
    rows = revenue[currency]
    names = {
        "membership": _("Memberships"),
        "gift": _("One-time gifts"),
        "monthly_gift": _("Monthly gifts"),
        "offline": _("Recorded by hand"),
    }
    colours = {
        "membership": charts.BLUE,
        "gift": charts.ORANGE,
        "monthly_gift": charts.GREEN,
        "offline": charts.VIOLET,
    }
    series = [(names[s], [getattr(r, s) for r in rows], colours[s]) for s in reports.SOURCES]
    return charts.bar_chart(
        [reports.month_label(r.month) for r in rows],
        series,
        _("Revenue per month (%(currency)s)", currency=currency.upper()),
        fmt=lambda v: format_money(int(v), currency),
    )


# --- members ------------------------------------------------------------------------------------


@bp.route("/members")
def members():
    """Search members by e-mail or name."""
    form = SearchForm(request.args)
    query = form.q.data or "" if form.validate() else ""
    people = services.search_members(query)
    return render_template("admin/members.html", form=form, people=people, query=query)


@bp.route("/members.csv")
def members_csv():
    """Every account with its newest membership, as CSV, streamed."""
    stamp = utcnow().strftime("%Y%m%d")
    header, rows = with_decimals(services.MEMBER_CSV_HEADER, services.member_rows(), [9], 10)
    return csv_response(f"members-{stamp}.csv", header, rows)


def _member(user_id: int) -> User:
    """The account, or 404."""
    return db.session.get(User, user_id) or abort(404)


def _grant_form(**kwargs) -> GrantForm:
    """The complimentary-perk form with the active perks to choose from."""
    form = GrantForm(**kwargs)
    perks = db.session.scalars(select(Perk).where(Perk.active).order_by(Perk.position))
    form.perk.choices = [(p.slug, p.name) for p in perks]
    return form


@bp.route("/members/<int:user_id>")
def member(user_id: int, note_form=None, grant_form=None, status=200):
    """A member's file: memberships, payments, perks with their trail, Stripe events, notes."""
    user = _member(user_id)
    file = services.member_file(user)
    names = words.Names()
    return render_template(
        "admin/member.html",
        file=file,
        trail=[(a, words.sentence(a, names), words.details_text(a.details)) for a in file.audit],
        signup_touch=attribution.signup_of(user.id),
        touches={m.id: attribution.membership_of(m.id) for m in file.memberships},
        gift_purchases={g.payment_intent_id: g for g in gifts_bought(user.id)},
        cancellations=requests_of(user.id),
        note_form=note_form or NoteForm(formdata=None),
        grant_form=grant_form or _grant_form(formdata=None),
        withdraw_form=WithdrawForm(formdata=None),
        refund_form=RefundForm(formdata=None, action_key=services.new_action_key()),
        empty_form=EmptyForm(),
        now=utcnow(),
        is_admin=current_user.has_role(Role.admin),
        reasons=REASONS,
    ), status


@bp.route("/members/<int:user_id>/notes", methods=["POST"])
def add_note(user_id: int):
    """Keep a note about the member."""
    user = _member(user_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return member(user_id, note_form=form, status=400)
    services.add_note(user, form.body.data, current_user)
    db.session.commit()
    flash(_("The note is saved."))
    return redirect(url_for("admin.member", user_id=user.id), 303)


@bp.route("/members/<int:user_id>/grants", methods=["POST"])
def grant(user_id: int):
    """Give the member a perk, on the house, until a date (inclusive)."""
    user = _member(user_id)
    form = _grant_form()
    if form.validate_on_submit():
        perk = db.session.scalar(select(Perk).where(Perk.slug == form.perk.data))
        day = form.until.data
        if day >= date.max:  # the grant ends the day after: 9999-12-31 has none
            form.until.errors.append(_("Pick an earlier date."))
            return member(user_id, grant_form=form, status=400)
        until = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        try:
            grant_complimentary(user, perk, until, current_user, form.reason.data or "")
        except GrantError as exc:
            form.until.errors.append(_(str(exc)))
        else:
            db.session.commit()
            until_text = format_date(day, "long")
            flash(_("%(perk)s is granted until %(day)s.", perk=perk.name, day=until_text))
            return redirect(url_for("admin.member", user_id=user.id), 303)
    return member(user_id, grant_form=form, status=400)


@bp.route("/members/<int:user_id>/grants/<int:grant_id>/withdraw", methods=["POST"])
def withdraw(user_id: int, grant_id: int):
    """End a complimentary grant now."""
    grant = db.session.get(PerkGrant, grant_id)
    if grant is None or grant.user_id != user_id:
        abort(404)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            withdraw_grant(grant, current_user, form.reason.data or "")
        except GrantError as exc:
            flash(_(str(exc)), "error")
        else:
            db.session.commit()
            flash(_("The perk is withdrawn."))
    return redirect(url_for("admin.member", user_id=user_id), 303)


@bp.route("/members/<int:user_id>/resend-verification", methods=["POST"])
def resend_verification(user_id: int):
    """Mail the member a fresh confirmation link."""
    user = _member(user_id)
    if EmptyForm().validate_on_submit():
        try:
            services.resend_verification(user, current_user)
        except services.StaffError as exc:
            flash(_(str(exc)), "error")
        else:
            db.session.commit()
            flash(_("A new confirmation link is on its way to %(email)s.", email=user.email))
    return redirect(url_for("admin.member", user_id=user.id), 303)


@bp.route("/members/<int:user_id>/payments/<int:entry_id>/refund", methods=["POST"])
@admin_required
def refund(user_id: int, entry_id: int):
    """Ask Stripe to refund a payment; the ledger shows it when Stripe confirms."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        abort(404)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(_("The refund form was not valid; try again."), "error")
        return redirect(url_for("admin.member", user_id=user_id), 303)
    amount = None
    if form.amount.data:
        try:
            amount = to_minor(form.amount.data, entry.currency)
        except MoneyError:
            flash(_("Enter the amount to refund, e.g. 5.00."), "error")
            return redirect(url_for("admin.member", user_id=user_id), 303)
    try:
        services.refund_payment(entry, amount, current_user, form.action_key.data)
    except services.StaffError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
    else:
        db.session.commit()
        flash(
            _("Stripe is refunding the payment. The refund appears below once Stripe confirms it.")
        )
    return redirect(url_for("admin.member", user_id=user_id), 303)


from membership.admin import (  # noqa: E402, F401
    cancellation_report,
    catalogue_views,
    fundraiser_report,
    recovery_report,
    report_views,
    source_report,
    webhook_views,
)
