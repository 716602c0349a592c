"""Sign-in by e-mail pages: ask for a link, type its code, confirm a link (GET signs nobody in)."""

from __future__ import annotations

from flask import (
    Blueprint,
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
from flask_login import current_user, login_user

from membership import attribution
from membership.accounts import forms, services, signin_links
from membership.accounts.background import later
from membership.accounts.tokens import InvalidToken
from membership.extensions import db, limiter
from membership.security import fresh_session, private, safe_next

bp = Blueprint("signin", __name__)

# The address the reader last asked a link for, to fill in the code form of this browser.
ASKED = "sign_in_email"


def _submitted_email() -> str:
    """Second rate-limit key: the submitted address, normalised as the account lookup does."""
    return "email:" + services.address_key(request.form.get("email") or "")


def _limit(name: str, per_address: bool = False):
    """A rate limit read from settings at request time, on POST only, per client address or
    per submitted e-mail address."""
    return limiter.limit(
        lambda: current_app.config[name],
        methods=["POST"],
        key_func=_submitted_email if per_address else None,
    )


@bp.route("/login/email", methods=["GET", "POST"])
@private  # the answer is the same whether the address has an account: headers included
@_limit("RATE_LIMIT_SIGN_IN_LINK")
@_limit("RATE_LIMIT_SIGN_IN_ADDRESS", per_address=True)
def request_link():
    """Mail a sign-in link and code (a "join" link for an address without an account); the
    answer never says which."""
    next_url = safe_next(request.args.get("next"), "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("accounts.account"))
    form = forms.SignInLinkForm()
    if form.validate_on_submit():
        address = services.normalize_email(form.email.data)
        session[ASKED] = address
        # The look-up and the mail run after the answer, so it takes as long either way.
        later(signin_links.request_sign_in, address, next_url or None, str(get_locale()))
        return redirect(url_for("signin.enter_code"), 303)
    status = 400 if form.errors else 200
    return render_template("accounts/sign_in_email.html", form=form, next_url=next_url), status


@bp.route("/login/code", methods=["GET", "POST"])
@_limit("RATE_LIMIT_LOGIN")
@_limit("RATE_LIMIT_LOGIN", per_address=True)
def enter_code():
    """ "Check your inbox", and the form for the 6-digit code from the mail."""
    form = forms.SignInCodeForm()
    asked = session.get(ASKED)
    if request.method == "GET" and asked:
        form.email.data = asked
    if form.validate_on_submit():
        result = signin_links.sign_in_with_code(form.email.data, form.code.data)
        _attribute(result)
        db.session.commit()  # a wrong code's try counts too
        if result is not None:
            return _signed_in(result, remember=False)
        form.code.errors.append(
            _("That code is wrong, used or expired. Check the newest mail, or ask for a new one.")
        )
    status = 400 if form.errors else 200
    return render_template("accounts/sign_in_code.html", form=form, asked=asked), status


@bp.route("/login/email/<token>", methods=["GET", "POST"])
@private
@_limit("RATE_LIMIT_LOGIN")
def confirm(token: str):
    """The link from the mail: GET shows a button (mail scanners that open links sign nobody
    in and use nothing up); its POST signs in, or creates the account of a join."""
    try:
        pending = signin_links.pending(token)
    except InvalidToken:
        return _link_used()
    form = forms.ConfirmSignInForm()
    if form.validate_on_submit():
        try:
            result = signin_links.confirm_link(token)
        except InvalidToken:
            db.session.rollback()
            return _link_used()
        _attribute(result)
        db.session.commit()
        return _signed_in(result, remember=form.remember.data)
    joining = pending.user_id is None and services.find_by_email(pending.email) is None
    return render_template(
        "accounts/sign_in_confirm.html", form=form, address=pending.email, joining=joining
    ), 400 if form.errors else 200


def _attribute(result: signin_links.SignIn | None) -> None:
    """A reader who joined by e-mail keeps where they came from, as one who registered does."""
    if result is not None and result.created:
        attribution.record_signup(result.user.id, attribution.current())


def _link_used():
    """The page of a link that was used, replaced or has expired: ask for a new one here."""
    return render_template("accounts/sign_in_used.html", form=forms.SignInLinkForm()), 400


def _signed_in(result: signin_links.SignIn, remember: bool):
    """Start the reader's session (no fixation) and go where they were going."""
    fresh_session()
    login_user(result.user, remember=remember)
    if result.created:
        flash(_("Welcome! Your account is ready. Add your name below; a password is optional."))
    elif result.password_removed:
        flash(
            _(
                "Your e-mail address is confirmed. The password chosen before it was confirmed "
                "has been removed, and other devices signed out: set a new one here if you like."
            )
        )
    else:
        flash(_("You are signed in."))
    return redirect(safe_next(result.next_url, url_for("accounts.account")), 303)
