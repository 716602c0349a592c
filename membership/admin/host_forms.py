"""Forms of the host's staff screens: host settings, grants, outlet staff."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from membership.edge import clean_line, clean_message

IDEMPOTENCY_KEY = r"^[A-Za-z0-9_-]{16,64}$"


class HostForm(FlaskForm):
    """Who hosts a campaign, and its fee."""

    legal_name = StringField(_l("Legal name"), filters=[clean_line],
                             validators=[InputRequired(), Length(max=200)])  # fmt: skip
    country = StringField(_l("Country (two-letter code)"), filters=[clean_line],
                          validators=[Optional(), Length(max=2)])  # fmt: skip
    registration_number = StringField(_l("Registration number"), filters=[clean_line],
                                      validators=[Optional(), Length(max=64)])  # fmt: skip
    address = TextAreaField(_l("Address"), filters=[clean_message],
                            validators=[Optional(), Length(max=500)])  # fmt: skip
    contact = EmailField(_l("Contact e-mail"),
                         validators=[Optional(), Email(), Length(max=254)])  # fmt: skip
    fee_percent = StringField(_l("Host fee (percent of gross gifts)"), default="0",
                              validators=[Optional(), Length(max=8)])  # fmt: skip


class OutletGrantForm(FlaskForm):
    """A grant paid to an outlet; `token` makes a double click one grant."""

    token = HiddenField(validators=[InputRequired(), Regexp(IDEMPOTENCY_KEY)])
    amount = StringField(_l("Amount"), validators=[InputRequired(), Length(max=20)])
    currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)])
    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])
    bank_reference = StringField(_l("Bank reference"), filters=[clean_line],
                                 validators=[Optional(), Length(max=120)])  # fmt: skip
    paid_amount = StringField(_l("Amount paid out (other currency, optional)"),
                              validators=[Optional(), Length(max=20)])  # fmt: skip
    paid_currency = StringField(_l("Currency paid out"), validators=[Optional(), Length(max=3)])
    rate = StringField(_l("Exchange rate"), validators=[Optional(), Length(max=20)])
    note = StringField(_l("Note"), filters=[clean_line], validators=[Optional(), Length(max=255)])


class ReverseGrantForm(FlaskForm):
    """The counter-entry that undoes a grant."""

    token = HiddenField(validators=[InputRequired(), Regexp(IDEMPOTENCY_KEY)])
    note = StringField(_l("Why"), filters=[clean_line], validators=[Optional(), Length(max=255)])


class OutletStaffForm(FlaskForm):
    """Let an account work for one outlet."""

    email = EmailField(_l("E-mail of an existing account"),
                       validators=[InputRequired(), Email(), Length(max=254)])  # fmt: skip
