"""Account pages: register, sign in and out, e-mail proofs, password reset, the account page."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from membership import attribution
from membership.accounts import forms, sections, services
from membership.accounts.background import later
from membership.accounts.services import AccountError, WrongPassword
from membership.accounts.tokens import InvalidToken
from membership.extensions import db, limiter
from membership.security import fresh_session, private, safe_next

bp = Blueprint("accounts", __name__)


def _limit(name: str):
    """A rate limit read from settings at request time, on POST only."""
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


def _submitted_email() -> str:
    """The account a form names, as a second rate-limit key against one account's guessing:
    the address normalised as the account lookup does, so other spellings of it count too."""
    return "email:" + services.address_key(request.form.get("email") or "")


@bp.route("/register", methods=["GET", "POST"])
@private  # the answer must not tell by its headers whether it signed the reader in
@_limit("RATE_LIMIT_REGISTER")
def register():
    """Create an account and sign the reader in; an address that exists gets a mail instead."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = forms.RegisterForm()
    if request.method == "GET":
        form.locale.data = str(get_locale())  # the page's: the switcher's, else the browser's
    if form.validate_on_submit():
        try:
            result = services.register(
                form.email.data,
                form.password.data,
                form.name.data,
                form.locale.data,
                form.email_consent.data,
            )
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            if result.created:  # where the reader came from, kept with the account
                attribution.record_signup(result.user.id, attribution.current())
            db.session.commit()
            if result.created:
                login_user(result.user)
            flash(_("We sent a link to your e-mail address: follow it to confirm the address."))
            # The page this leads to sets the access-token cookie of a new account: this answer
            # carries the same cookies whether it signed the reader in or not.
            g.access_token_done = True
            later(services.notify_registration, result.user.id, result.created)
            return redirect(safe_next(request.args.get("next"), url_for("accounts.account")), 303)
    return render_template("accounts/register.html", form=form), 400 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATE_LIMIT_LOGIN")
@limiter.limit(
    lambda: current_app.config["RATE_LIMIT_LOGIN"], methods=["POST"], key_func=_submitted_email
)
def login():
    """Sign in; unknown addresses and wrong passwords get the same message."""
    target = safe_next(request.args.get("next"), url_for("accounts.account"))
    if current_user.is_authenticated:
        return redirect(target)
    form = forms.LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            fresh_session()  # no fixation; a plan the reader chose is kept
            login_user(user, remember=form.remember.data)
            return redirect(target, 303)
        form.password.errors.append(_("That e-mail and password do not match an account."))
    if form.errors:
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, with CSRF)."""
    form = forms.EmptyForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            services.sign_out(current_user)
            db.session.commit()
        _end_session()
        flash(_("You are signed out."))
    return redirect(url_for("main.index"), 303)


@bp.route("/verify-email/<token>")
def verify_email(token: str):
    """Follow the link from the verification mail."""
    try:
        services.verify_email(token)
    except InvalidToken:
        db.session.rollback()
        flash(_("That link is invalid or has expired. Sign in and ask for a new one."), "error")
        return render_template("accounts/link_invalid.html"), 400
    db.session.commit()
    flash(_("Thank you: your e-mail address is confirmed."))
    return redirect(url_for("accounts.account"), 303)


@bp.route("/verify-email", methods=["POST"])
@login_required
@_limit("RATE_LIMIT_RESET")
def resend_verification():
    """Send the verification mail again."""
    form = forms.EmptyForm()
    if form.validate_on_submit() and not current_user.is_verified:
        services.send_verification(current_user)
        db.session.commit()
        flash(_("We sent a new link to your e-mail address."))
    return redirect(url_for("accounts.account"), 303)


@bp.route("/reset-password", methods=["GET", "POST"])
@_limit("RATE_LIMIT_RESET")
@limiter.limit(
    lambda: current_app.config["RATE_LIMIT_RESET"], methods=["POST"], key_func=_submitted_email
)
def reset_request():
    """Ask for a reset link; the answer never says whether the address has an account."""
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        flash(_("If an account uses that address, we have sent it a link to reset the password."))
        later(services.request_password_reset, form.email.data)
        return redirect(url_for("accounts.login"), 303)
    return render_template("accounts/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@_limit("RATE_LIMIT_RESET")
def reset_password(token: str):
    """Choose a new password through a single-use link."""
    try:
        user = services.user_for_reset(token)
    except InvalidToken:
        return render_template("accounts/link_invalid.html"), 400
    form = forms.ResetPasswordForm(user=user)
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except (InvalidToken, AccountError) as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            flash(_("Your password is changed. Sign in with the new one."))
            return redirect(url_for("accounts.login"), 303)
    return render_template("accounts/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/account")
@login_required
def account():
    """The reader's own page."""
    return render_template(
        "accounts/account.html",
        empty_form=forms.EmptyForm(),
        profile_form=forms.ProfileForm(obj=current_user),
        sections=sections.render_context(current_user),
    )


@bp.route("/account/profile", methods=["POST"])
@login_required
def update_profile():
    """Change name, language and e-mail consent."""
    form = forms.ProfileForm()
    if form.validate_on_submit():
        services.update_profile(
            current_user, form.name.data, form.locale.data, form.email_consent.data
        )
        db.session.commit()
        flash(_("Your details are saved."))
        return redirect(url_for("accounts.account"), 303)
    return render_template(
        "accounts/account.html",
        empty_form=forms.EmptyForm(),
        profile_form=form,
        sections=sections.render_context(current_user),
    ), 400


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password, or set a first one (readers who joined by e-mail); other devices
    are signed out."""
    form = forms.ChangePasswordForm(user=current_user)
    if not current_user.has_password:
        del form.current
    if form.validate_on_submit():
        try:
            current = form.current.data if form.current else ""
            services.change_password(current_user, current, form.password.data)
        except WrongPassword:
            db.session.rollback()
            form.current.errors.append(_("That is not your current password."))
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            # keep this device signed in under the new session token
            login_user(current_user._get_current_object())
            flash(_("Your password is changed."))
            return redirect(url_for("accounts.account"), 303)
    return render_template("accounts/change_password.html", form=form), 400 if form.errors else 200


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def change_email():
    """Ask to move the account to a new address, confirmed from that address."""
    form = _without_password(forms.ChangeEmailForm())
    if form.validate_on_submit():
        try:
            new_email = services.check_email_change(current_user, form.email.data, _password(form))
        except WrongPassword:
            db.session.rollback()
            form.password.errors.append(_("That is not your current password."))
        except AccountError:
            db.session.rollback()
            form.email.errors.append(_("That is already your address."))
        else:
            flash(_("We sent a link to the new address. Follow it to finish the change."))
            later(services.send_email_change, current_user.id, new_email)
            return redirect(url_for("accounts.account"), 303)
    return render_template("accounts/change_email.html", form=form), 400 if form.errors else 200


@bp.route("/account/email/<token>")
def confirm_email_change(token: str):
    """Follow the link sent to the new address."""
    try:
        services.confirm_email_change(token)
    except InvalidToken:
        db.session.rollback()
        return render_template("accounts/link_invalid.html"), 400
    db.session.commit()
    flash(_("Your e-mail address is changed."))
    return redirect(url_for("accounts.account"), 303)


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    """Delete the account: personal data erased, payment records kept without a name."""
    form = _without_password(forms.DeleteAccountForm())
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, _password(form))
        except WrongPassword:
            db.session.rollback()
            form.password.errors.append(_("That is not your current password."))
        except AccountError:
            db.session.rollback()
            form.password.errors.append(
                _("We could not stop your payments just now, so nothing was deleted. Try again.")
            )
        else:
            db.session.commit()
            _end_session()
            flash(_("Your account is deleted."))
            return redirect(url_for("main.index"), 303)
    return render_template("accounts/delete.html", form=form), 400 if form.errors else 200


@bp.route("/account/export")
@login_required
def export():
    """Download everything we hold about the reader as JSON."""
    response = current_app.response_class(
        current_app.json.dumps(services.export_data(current_user), indent=2),
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _without_password(form):
    """The form without its "current password" field for a reader who has none."""
    if not current_user.has_password:
        del form.password
    return form


def _password(form) -> str:
    """The current password the form asked for ("" when it asked none)."""
    return form.password.data if form.password else ""


def _end_session() -> None:
    """Forget everything the session held, then sign out: logout_user() leaves the flag that
    makes Flask-Login delete the remember-me cookie, which a later clear() would wipe."""
    session.clear()
    logout_user()
