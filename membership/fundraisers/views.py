"""The campaign page, the donation form's target, the thank-you page and the embeddable widget."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from membership.accounts import sections
from membership.accounts.forms import EmptyForm
from membership.edge import parse_id
from membership.extensions import csrf, db, limiter
from membership.fundraisers import campaigns, giving, page_cache, page_fastpath, totals
from membership.fundraisers.forms import DonateForm
from membership.fundraisers.models import (
    Campaign,
    CampaignStatus,
    Donation,
    DonationStatus,
    Frequency,
)
from membership.money import format_money
from membership.security import allow_framing

bp = Blueprint("fundraisers", __name__)
log = logging.getLogger(__name__)

# Error code of the service → (form field, message).
ERRORS = {
    "amount": ("amount", lambda c: _("Enter an amount, such as 25 or 12.50.")),
    "minimum": ("amount", lambda c: _("The smallest gift is %(amount)s.",
                                      amount=format_money(c.min_amount, c.currency))),
    "maximum": ("amount", lambda c: _("The largest gift online is %(amount)s. For more, please "
                                      "write to us.",
                                      amount=format_money(c.max_amount, c.currency))),
    "frequency": ("frequency", lambda c: _("Choose once or monthly.")),
    "outlet": ("outlet", lambda c: _("Choose one of the newsrooms, or all of them.")),
    "public_name": ("public_name", lambda c: _("Keep the name under 80 characters.")),
    "message": ("message", lambda c: _("Keep the message under 500 characters.")),
}  # fmt: skip


def _is_staff() -> bool:
    """Whether the visitor is staff (who may see drafts)."""
    return bool(current_user.is_authenticated and current_user.is_staff)


def _donate_form(**values) -> DonateForm:
    """The donation form; with a CSRF token only for a reader a cookie signs in.

    CSRF protects what a cookie authenticates. An anonymous visitor has no authority a forged
    cross-site POST could borrow: the POST only sends their own browser to Checkout, where they
    still pay themselves. A signed-in reader's gift is attributed to their account, so their
    form carries the token and the POST requires it (400 without it).
    """
    if current_user.is_authenticated:
        return DonateForm(**values)  # CSRF as configured (WTF_CSRF_ENABLED)
    return DonateForm(meta={"csrf": False}, **values)


def _visible_campaign(slug: str) -> Campaign:
    """The campaign, or 404 (drafts are staff only)."""
    campaign = campaigns.campaign_by_slug(slug)
    if campaign is None or (campaign.status == CampaignStatus.draft and not _is_staff()):
        abort(404)
    return campaign


def _render(
    campaign: Campaign,
    form: DonateForm,
    parts: page_cache.PageParts,
    is_open: bool,
    has_ended: bool,
) -> str:
    """Render the campaign page around its cached, reader-independent parts."""
    return render_template("fundraisers/campaign.html", campaign=campaign, parts=parts,
                           is_open=is_open, has_ended=has_ended, form=form)  # fmt: skip


def _page(campaign: Campaign, form: DonateForm, status: int = 200):
    """The campaign page with this form's values and errors."""
    days_left = campaigns.days_left(campaign)
    is_open = campaigns.is_open(campaign)
    has_ended = campaigns.has_ended(campaign)
    parts = page_cache.parts(campaign, days_left, is_open, has_ended)
    return _render(campaign, form, parts, is_open, has_ended), status


@bp.get("/fundraisers/<slug>")
def campaign_page(slug: str):
    """Progress, the outlets' shares, milestones, the supporters' wall and the donation form."""
    outlet = request.args.get("outlet", "all")
    if not (request.args.get("ref") or current_user.is_authenticated or "_flashes" in session):
        # Anonymous, pristine form, nothing to flash: the same HTML for everyone.
        row = page_cache.head(slug)
        if row is None:
            abort(404)
        if row.status != CampaignStatus.draft:
            if not request.query_string:
                page_fastpath.mark_shareable(request.environ, str(get_locale()))
            return page_cache.anonymous_page(
                row,
                outlet,
                lambda: _visible_campaign(slug),
                lambda campaign, parts, is_open, has_ended: _render(
                    campaign, _donate_form(outlet=outlet), parts, is_open, has_ended
                ),
            )
    form = _donate_form(outlet=outlet, ref=request.args.get("ref"))
    return _page(_visible_campaign(slug), form)


@bp.post("/fundraisers/<slug>/donate")
@csrf.exempt  # checked below, for signed-in readers only (see _donate_form)
@limiter.limit(lambda: current_app.config["RATE_LIMIT_DONATE"], methods=["POST"])
def donate(slug: str):
    """303 to Stripe Checkout (payment mode once, subscription mode monthly)."""
    if current_user.is_authenticated and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # the global check, Referer included over HTTPS: 400 when it fails
    campaign = _visible_campaign(slug)
    form = _donate_form()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _page(campaign, form, 422)
    gift = giving.GiftRequest(
        amount=(form.amount.data or "").strip() or (form.preset.data or "").strip(),
        frequency=form.frequency.data or "once",
        outlet=form.outlet.data or "",
        public_name=form.public_name.data or "",
        message=form.message.data or "",
        ref=form.ref.data or "",
    )
    user = current_user if current_user.is_authenticated else None
    try:
        url = giving.start_donation(campaign, gift, user, str(get_locale() or "en"))[1]
    except campaigns.DonationError as exc:
        db.session.rollback()
        if str(exc) == "closed":
            flash(_("This fundraiser takes no more gifts."), "error")
            return redirect(url_for("fundraisers.campaign_page", slug=slug), 303)
        if str(exc) == "changed":
            flash(_("This fundraiser changed a moment ago. Please check your gift and give again."),
                  "error")  # fmt: skip
            return redirect(url_for("fundraisers.campaign_page", slug=slug), 303)
        field, message = ERRORS[str(exc)]
        getattr(form, field).errors = [message(campaign)]
        return _page(campaign, form, 422)
    db.session.commit()
    return redirect(url, 303)


@bp.get("/fundraisers/<slug>/thanks")
def thanks(slug: str):
    """Back from Checkout: thanks; the gift counts once Stripe's webhook has arrived."""
    campaign = _visible_campaign(slug)
    donation = None
    donation_id = parse_id(request.args.get("donation"))  # not one of ours: the general thanks
    session_id = request.args.get("session_id", "")
    if donation_id is not None and session_id:
        found = db.session.get(Donation, donation_id)
        if found is not None and found.stripe_checkout_session_id == session_id:
            donation = found
    return render_template("fundraisers/thanks.html", campaign=campaign, donation=donation)


@bp.get("/fundraisers/<slug>/embed")
@allow_framing
def embed(slug: str):
    """The progress widget other sites may frame."""
    campaign = campaigns.campaign_by_slug(slug)
    if campaign is None or campaign.status == CampaignStatus.draft:
        abort(404)
    snap = totals.snapshot(slug)
    return render_template(
        "fundraisers/embed.html",
        campaign=campaign,
        figures=snap.figures,
        days_left=campaigns.days_left(campaign),
        has_ended=campaigns.has_ended(campaign),
    )


@bp.route("/account/donations/<int:donation_id>/stop", methods=["GET", "POST"])
@login_required
def stop_monthly_gift(donation_id: int):
    """Ask, then stop one of the reader's own monthly gifts (its subscription ends at once)."""
    donation = db.session.get(Donation, donation_id)
    if (
        donation is None
        or donation.user_id != current_user.id
        or donation.frequency != Frequency.monthly
        or not donation.stripe_subscription_id
    ):
        abort(404)
    target = donation.outlet.name if donation.outlet else donation.campaign.title
    back = url_for("accounts.account", _anchor="donations")
    if donation.status == DonationStatus.ended:
        flash(_("Your monthly gift to %(target)s is stopped already.", target=target))
        return redirect(back, 303)
    form = EmptyForm()
    if request.method == "GET":
        return render_template("fundraisers/stop_monthly.html", donation=donation,
                               target=target, form=form)  # fmt: skip
    if not form.validate_on_submit():
        abort(400)
    giving.stop_monthly_gift(donation, current_user)
    db.session.commit()
    flash(_("Your monthly gift to %(target)s is stopped. No further payment will be taken. "
            "Thank you for your support!", target=target))  # fmt: skip
    return redirect(back, 303)


def account_section(user) -> dict:
    """The donations part of the account page: monthly gifts that run, with their next date."""
    donations = campaigns.donations_of(user.id)
    running = [
        d for d in donations
        if d.frequency == Frequency.monthly and d.status == DonationStatus.active
        and d.stripe_subscription_id
    ]  # fmt: skip
    return {"donations": donations, "monthly": running}


sections.register("fundraisers/_account_donations.html", account_section)
