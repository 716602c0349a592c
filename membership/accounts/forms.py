"""Account forms; every one carries a CSRF token through Flask-WTF."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from membership.accounts import passwords
from membership.accounts.services import AccountError, normalize_email


def valid_email(form, field) -> None:
    """Accept only a syntactically valid address (no DNS look-up)."""
    try:
        normalize_email(field.data or "")
    except AccountError as exc:
        raise ValidationError(_l("Enter a valid e-mail address.")) from exc


def strong_password(email_field: str | None = None, name_field: str | None = None):
    """Validator applying the password rules, knowing the e-mail and name when the form has them."""

    def check(form, field) -> None:
        email = getattr(form, email_field).data if email_field else ""
        name = getattr(form, name_field).data if name_field else ""
        user = getattr(form, "user", None)
        if user is not None:
            email, name = email or user.email, name or user.name
        problems = passwords.password_problems(field.data or "", email or "", name or "")
        if problems:
            raise ValidationError(" ".join(problems))

    return check


def language_choices() -> list[tuple[str, str]]:
    """The interface languages, each in its own name."""
    return list(current_app.config["LANGUAGES"].items())


EMAIL = [DataRequired(), Length(max=254), valid_email]
PASSWORD_MAX = Length(max=passwords.MAX_LENGTH)


class RegisterForm(FlaskForm):
    """Create an account."""

    email = EmailField(_l("E-mail"), validators=EMAIL)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(
        _l("Password"), validators=[InputRequired(), strong_password("email", "name")]
    )
    locale = SelectField(_l("Language"), choices=[], default="en")
    email_consent = BooleanField(_l("Send me news from the newsroom by e-mail"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = language_choices()


class LoginForm(FlaskForm):
    """Sign in."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), PASSWORD_MAX])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ResetRequestForm(FlaskForm):
    """Ask for a reset link."""

    email = EmailField(_l("E-mail"), validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    """Choose a new password through a reset link."""

    password = PasswordField(_l("New password"), validators=[InputRequired(), strong_password()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user


class ChangePasswordForm(ResetPasswordForm):
    """Change the password while signed in."""

    current = PasswordField(_l("Current password"), validators=[InputRequired(), PASSWORD_MAX])


class ChangeEmailForm(FlaskForm):
    """Move the account to another address."""

    email = EmailField(_l("New e-mail"), validators=EMAIL)
    password = PasswordField(_l("Current password"), validators=[InputRequired(), PASSWORD_MAX])


class ProfileForm(FlaskForm):
    """Name, language and consent."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    locale = SelectField(_l("Language"), choices=[])
    email_consent = BooleanField(_l("Send me news from the newsroom by e-mail"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = language_choices()


class DeleteAccountForm(FlaskForm):
    """Delete the account for good."""

    password = PasswordField(_l("Current password"), validators=[InputRequired(), PASSWORD_MAX])
    confirm = BooleanField(
        _l("I understand that this cannot be undone"), validators=[DataRequired()]
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons such as sign out."""


def valid_code(form, field) -> None:
    """Accept six digits (spaces or a dash between them allowed)."""
    from membership.accounts.signin_links import clean_code

    if clean_code(field.data) is None:
        raise ValidationError(_l("Enter the 6 digits from the mail."))


class SignInLinkForm(FlaskForm):
    """Ask for a sign-in link and code by e-mail (or, for a new address, to join)."""

    email = EmailField(_l("E-mail"), validators=EMAIL)


class SignInCodeForm(FlaskForm):
    """Type the 6-digit code from the sign-in mail."""

    email = EmailField(_l("E-mail"), validators=EMAIL)
    code = StringField(
        _l("Code from the e-mail"),
        validators=[DataRequired(message=_l("Enter the 6 digits from the mail.")), valid_code],
        render_kw={"inputmode": "numeric", "maxlength": 9, "spellcheck": "false"},
    )


class ConfirmSignInForm(FlaskForm):
    """The button behind a sign-in link: opening the link alone signs nobody in."""

    remember = BooleanField(_l("Keep me signed in on this device"))
