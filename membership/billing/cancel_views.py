"""The cancel page of /account: a reason, a pause instead, the retention offer, the final cancel;
and ending a pause early. Services: billing/cancellation.py."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from membership.accounts.forms import EmptyForm
from membership.billing import cancellation
from membership.billing.forms import CancellationForm
from membership.billing.models import Membership
from membership.billing.views import bp
from membership.extensions import db, limiter
from membership.timeutil import utcnow

# Each choice asks Stripe several times: a reader (not an address) gets this many a minute/day.
CHANGES_LIMIT = "10 per minute;60 per day"
changes_limit = limiter.limit(
    CHANGES_LIMIT, methods=["POST"], key_func=lambda: f"membership-changes-{current_user.get_id()}"
)

# A refused choice: what the reader reads, and the status of the page that says it.
REFUSED = {
    "ended": (lambda m: _("This membership has ended already."), 409),
    "already-cancelled": (
        lambda m: _(
            "Your membership already ends on %(date)s. You can resume it on your account page "
            "until then.",
            date=_day(m.current_period_end),
        ),
        409,
    ),
    "already-paused": (lambda m: _("Your membership is paused already."), 409),
    "not-pausable": (
        lambda m: _("A pause is possible for monthly memberships that are paid up and not ending."),
        409,
    ),
    "no-offer": (lambda m: _("This offer is not available for your membership."), 409),
    "not-paused": (lambda m: _("Your membership is not paused."), 409),
}


def _day(moment) -> str:
    """A date as the page's language writes it."""
    return format_date(moment, "long") if moment else ""


def _own(membership_id: int) -> Membership:
    """The signed-in reader's membership, else 404 (someone else's looks like no one's)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.user_id != current_user.id:
        abort(404)
    return membership


def _page(membership: Membership, form: CancellationForm, status: int = 200, problem=None):
    """The cancel page, with what this membership may choose."""
    live = membership.is_live
    offer = cancellation.offer_for(membership) if live else None
    pauses = []
    if live and cancellation.pausable(membership):
        pauses = [
            (months, cancellation.pause_window(membership, months)[1])
            for months in cancellation.PAUSE_MONTHS
        ]
    discounted = None
    if offer is not None:  # rounded as Stripe's percent_off (and stripe_objects) rounds
        off = Decimal(membership.amount) * offer.percent_off / 100
        discounted = membership.amount - int(off.quantize(Decimal(1), ROUND_HALF_UP))
    page = render_template(
        "billing/cancel_membership.html",
        membership=membership,
        form=form,
        reasons=cancellation.REASONS,
        pauses=pauses,
        offer=offer,
        offer_percent=format_decimal(offer.percent_off) if offer else None,
        discounted=discounted,
        problem=problem,
    )
    return page, status


@bp.get("/account/membership/<int:membership_id>/cancel")
@login_required
def cancel_page(membership_id: int):
    """Ask why, offer a pause and the newsroom's offer; the final cancel is a POST from here."""
    membership = _own(membership_id)
    problem = None
    if not membership.is_live:
        problem = REFUSED["ended"][0](membership)
    elif membership.cancel_at_period_end:
        problem = REFUSED["already-cancelled"][0](membership)
    return _page(membership, CancellationForm(), problem=problem)


def _choose(membership_id: int, choice, done: str):
    """Validate the shared form, run one choice, commit, say so; a refusal re-renders."""
    membership = _own(membership_id)
    form = CancellationForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _page(membership, form, 422)
    try:
        result = choice(membership, form)
    except cancellation.CancellationError as exc:
        db.session.rollback()
        code = str(exc)
        if code == "reason":
            form.reason.errors = [_("Choose one of the reasons, or none.")]
            return _page(membership, form, 422)
        if code == "months":
            form.months.errors = [_("Choose 1, 2 or 3 months.")]
            return _page(membership, form, 422)
        message, status = REFUSED.get(code, REFUSED["ended"])
        db.session.refresh(membership)
        return _page(membership, form, status, problem=message(membership))
    db.session.commit()
    flash(done(result))
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/membership/<int:membership_id>/cancel")
@login_required
@changes_limit
def cancel_membership(membership_id: int):
    """Cancel at the end of the paid period, with the reason given (if any)."""
    return _choose(
        membership_id,
        lambda m, f: cancellation.cancel(m, current_user, f.reason.data, f.comment.data),
        lambda r: _("Your membership will end with the paid period. You can resume it until then."),
    )


@bp.post("/account/membership/<int:membership_id>/pause")
@login_required
@changes_limit
def pause_membership(membership_id: int):
    """Pause for 1, 2 or 3 months instead of cancelling."""

    def pause(m, f):
        if not (f.months.data or "").isdigit():
            raise cancellation.CancellationError("months")
        return cancellation.pause(m, current_user, int(f.months.data), f.reason.data,
                                  f.comment.data)  # fmt: skip

    return _choose(
        membership_id,
        pause,
        lambda r: _(
            "Your membership is paused from %(start)s and resumes on %(date)s. Thank you for "
            "staying with us!",
            start=_day(r.membership.paused_from),
            date=_day(r.resumes_at),
        ),
    )


@bp.post("/account/membership/<int:membership_id>/keep")
@login_required
@changes_limit
def keep_membership(membership_id: int):
    """Stay, with the retention offer."""
    return _choose(
        membership_id,
        lambda m, f: cancellation.keep_with_offer(m, current_user, f.reason.data, f.comment.data),
        lambda r: _("Thank you for staying! Your next payments are discounted."),
    )


@bp.post("/account/membership/<int:membership_id>/unpause")
@login_required
@changes_limit
def unpause_membership(membership_id: int):
    """End a pause now: the perks open again and the next renewal is charged."""
    membership = _own(membership_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    ahead = membership.paused_from is not None and membership.paused_from > utcnow()
    try:
        cancellation.unpause(membership, current_user)
    except cancellation.CancellationError as exc:
        db.session.rollback()
        message, _status = REFUSED.get(str(exc), REFUSED["ended"])
        flash(message(membership), "error")
        return redirect(url_for("accounts.account"), 303)
    db.session.commit()
    if ahead:
        flash(_("The pause is cancelled: your membership goes on as before."))
    else:
        flash(_("Welcome back! Your membership and its perks are open again."))
    return redirect(url_for("accounts.account"), 303)
