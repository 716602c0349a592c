"""Staff pages for the collective fundraiser: campaigns, outlets, milestones, rewards, offline
gifts and the moderation of the supporters' wall."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from membership.accounts.forms import EmptyForm
from membership.extensions import db
from membership.fundraisers import editing, totals
from membership.fundraisers.campaigns import DonationError
from membership.fundraisers.forms import (
    CampaignForm,
    MilestoneForm,
    OfflineGiftForm,
    OutletForm,
    RewardTierForm,
)
from membership.fundraisers.models import Campaign, Donation, Milestone, Outlet, RewardTier
from membership.money import to_major
from membership.perks.models import Perk
from membership.security import staff_required

bp = Blueprint("admin_fundraisers", __name__)

PROBLEMS = {
    "amount": lambda: _("Enter amounts such as 25 or 12.50."),
    "currency": lambda: _("The currency cannot change once gifts arrived."),
    "slug": lambda: _("That slug is taken."),
    "dates": lambda: _("The end must come after the start."),
    "bounds": lambda: _("The largest gift must be at least the smallest."),
    "outlet": lambda: _("Choose one of the campaign's newsrooms."),
    "reserved": lambda: _(
        "“all” is reserved for gifts shared by all newsrooms; choose another slug."
    ),
}

# The campaign form's field each problem belongs to, so that the form shows it beside the field.
_CAMPAIGN_FIELDS = {
    "currency": "currency",
    "slug": "slug",
    "dates": "ends_at",
    "bounds": "max_amount",
}


@bp.before_request
@staff_required
def _staff_only():
    """Every page here needs the staff role at least."""
    return None


def _campaign(campaign_id: int) -> Campaign:
    """The campaign or 404."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _utc(value: datetime) -> datetime:
    """A naive form datetime, read as UTC."""
    return value.replace(tzinfo=UTC)


def _campaign_data(form: CampaignForm) -> dict:
    """The form's values for editing.save_campaign."""
    return {
        "title": form.title.data,
        "slug": form.slug.data,
        "story": form.story.data,
        "goal": form.goal.data,
        "currency": form.currency.data,
        "starts_at": _utc(form.starts_at.data),
        "ends_at": _utc(form.ends_at.data),
        "status": form.status.data,
        "min_amount": form.min_amount.data,
        "max_amount": form.max_amount.data,
        "presets": form.presets.data,
    }


@bp.route("/", methods=["GET", "POST"])
def index():
    """Every campaign, and the form for a new one."""
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = editing.save_campaign(None, _campaign_data(form), current_user)
        except DonationError as exc:
            db.session.rollback()
            flash(PROBLEMS.get(str(exc), PROBLEMS["amount"])(), "error")
        else:
            db.session.commit()
            flash(_("Campaign created."))
            return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    return render_template("admin/fundraisers/index.html", campaigns=campaigns, form=form)


def _forms(campaign: Campaign) -> dict:
    """The forms of the campaign page, filled where they edit something."""
    edit = CampaignForm(prefix="c")
    if not edit.is_submitted():
        edit.process(
            data={
                "title": campaign.title, "slug": campaign.slug, "story": campaign.story,
                "goal": str(to_major(campaign.goal, campaign.currency)),
                "currency": campaign.currency, "status": campaign.status.value,
                "starts_at": campaign.starts_at.replace(tzinfo=None),
                "ends_at": campaign.ends_at.replace(tzinfo=None),
                "min_amount": str(to_major(campaign.min_amount, campaign.currency)),
                "max_amount": str(to_major(campaign.max_amount, campaign.currency)),
                "presets": ", ".join(
                    str(to_major(a, campaign.currency)) for a in campaign.preset_amounts or []
                ),
            }
        )  # fmt: skip
    tier = RewardTierForm(prefix="t")
    tier.perk.choices = [
        (p.id, p.name) for p in db.session.scalars(select(Perk).order_by(Perk.position))
    ]
    gift = OfflineGiftForm(prefix="g")
    gift.outlet.choices = [("all", _("All newsrooms, shared equally"))] + [
        (o.slug, o.name) for o in campaign.outlets
    ]
    return {
        "edit": edit,
        "outlet_form": OutletForm(prefix="o"),
        "milestone": MilestoneForm(prefix="m"),
        "tier": tier,
        "gift": gift,
        "button": EmptyForm(),
    }


def _show(campaign: Campaign, forms: dict, status: int = 200):
    """Render the campaign's staff page."""
    donations = db.session.scalars(
        select(Donation)
        .where(Donation.campaign_id == campaign.id)
        .order_by(Donation.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "admin/fundraisers/campaign.html",
        campaign=campaign,
        donations=donations,
        figures=totals.snapshot(campaign.slug).figures,
        **forms,
    ), status


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
def campaign(campaign_id: int):
    """A campaign: edit it, its outlets, milestones and rewards; record gifts; moderate."""
    campaign = _campaign(campaign_id)
    forms = _forms(campaign)
    edit = forms["edit"]
    if edit.is_submitted():
        if edit.validate():
            try:
                editing.save_campaign(campaign, _campaign_data(edit), current_user)
            except DonationError as exc:
                db.session.rollback()
                message = PROBLEMS.get(str(exc), PROBLEMS["amount"])()
                flash(message, "error")
                field = _CAMPAIGN_FIELDS.get(str(exc))
                if field is not None:
                    getattr(edit, field).errors.append(message)
                return _show(_campaign(campaign_id), forms, 422)
            db.session.commit()
            flash(_("Campaign saved."))
            return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
        return _show(campaign, forms, 422)
    return _show(campaign, forms)


def _done(campaign_id: int, message: str):
    """Commit, flash and go back to the campaign page."""
    db.session.commit()
    flash(message)
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


def _failed(campaign_id: int, code: str):
    """Roll back, flash the problem and go back."""
    db.session.rollback()
    flash(PROBLEMS.get(code, PROBLEMS["amount"])(), "error")
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


def _outlet_data(form: OutletForm) -> dict:
    """The form's values for editing.save_outlet."""
    return {name: getattr(form, name).data for name in
            ("slug", "name", "url", "logo_url", "blurb", "goal", "position")}  # fmt: skip


@bp.post("/<int:campaign_id>/outlets", defaults={"outlet_id": None})
@bp.post("/<int:campaign_id>/outlets/<int:outlet_id>")
def outlet(campaign_id: int, outlet_id: int | None):
    """Add an outlet, or edit one."""
    campaign = _campaign(campaign_id)
    existing = None
    if outlet_id is not None:
        existing = db.session.get(Outlet, outlet_id)
        if existing is None or existing.campaign_id != campaign.id:
            abort(404)
    form = OutletForm(prefix="o")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Check the newsroom's fields: %(fields)s", fields=", ".join(form.errors)), "error")
        for field in form:
            for error in field.errors:
                flash(_("%(field)s: %(error)s", field=field.label.text, error=error), "error")
        return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
    try:
        editing.save_outlet(campaign, existing, _outlet_data(form), current_user)
    except DonationError as exc:
        return _failed(campaign_id, str(exc))
    return _done(campaign_id, _("Newsroom saved."))


@bp.post("/<int:campaign_id>/milestones")
def milestone(campaign_id: int):
    """Add a milestone."""
    campaign = _campaign(campaign_id)
    form = MilestoneForm(prefix="m")
    if not form.validate_on_submit():
        return _failed(campaign_id, "amount")
    try:
        editing.add_milestone(
            campaign, form.amount.data, form.title.data, form.description.data, current_user
        )
    except DonationError as exc:
        return _failed(campaign_id, str(exc))
    return _done(campaign_id, _("Milestone added."))


@bp.post("/<int:campaign_id>/rewards")
def reward(campaign_id: int):
    """Add a reward tier."""
    campaign = _campaign(campaign_id)
    form = RewardTierForm(prefix="t")
    form.perk.choices = [(p.id, p.name) for p in db.session.scalars(select(Perk))]
    if not form.validate_on_submit():
        return _failed(campaign_id, "amount")
    try:
        editing.add_reward_tier(
            campaign, form.minimum.data, form.perk.data, form.months.data, form.title.data,
            current_user,
        )  # fmt: skip
    except DonationError as exc:
        return _failed(campaign_id, str(exc))
    return _done(campaign_id, _("Reward added."))


@bp.post("/<int:campaign_id>/<any(milestones, rewards):kind>/<int:item_id>/delete")
def delete_item(campaign_id: int, kind: str, item_id: int):
    """Remove a milestone or a reward tier."""
    model = Milestone if kind == "milestones" else RewardTier
    item = db.session.get(model, item_id)
    if item is None or item.campaign_id != campaign_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    editing.remove(item, current_user)
    return _done(campaign_id, _("Removed."))


@bp.post("/<int:campaign_id>/offline-gifts")
def offline_gift(campaign_id: int):
    """Record a bank transfer or cash gift; it counts and is marked as such."""
    campaign = _campaign(campaign_id)
    form = OfflineGiftForm(prefix="g")
    form.outlet.choices = [("all", "all")] + [(o.slug, o.name) for o in campaign.outlets]
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _failed(campaign_id, "outlet" if form.outlet.errors else "amount")
    outlet = next((o for o in campaign.outlets if o.slug == form.outlet.data), None)
    received = form.received_on.data
    try:
        amount = editing.parse_amount(form.amount.data, campaign.currency)
        editing.record_offline_gift(
            campaign,
            amount,
            current_user,
            outlet=outlet,
            received_at=datetime.combine(received, time(12), UTC) if received else None,
            email=form.email.data or "",
            public_name=form.public_name.data or "",
            message=form.message.data or "",
            note=form.note.data or "",
        )
    except DonationError as exc:
        return _failed(campaign_id, str(exc))
    return _done(campaign_id, _("Offline gift recorded."))


@bp.post("/donations/<int:donation_id>/<any(hide, show):action>")
def moderate(donation_id: int, action: str):
    """Hide a supporter's wall entry, or show it again."""
    donation = db.session.get(Donation, donation_id)
    if donation is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    editing.set_hidden(donation, action == "hide", current_user)
    return _done(
        donation.campaign_id,
        _("Hidden from the wall.") if action == "hide" else _("Shown on the wall."),
    )
