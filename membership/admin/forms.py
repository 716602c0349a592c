"""Staff forms; amounts are typed in major units and validated into minor units by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

SLUG = [DataRequired(), Length(max=64), Regexp(r"^[a-z0-9][a-z0-9-]*$",
        message=_l("Lower-case letters, digits and hyphens only."))]  # fmt: skip
CURRENCIES = ["eur", "usd", "gbp", "chf", "sek", "nok", "dkk", "pln", "czk", "huf", "gel", "jpy"]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SearchForm(FlaskForm):
    """Find a member by e-mail or name (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("E-mail or name"), validators=[Optional(), Length(max=254)])


class NoteForm(FlaskForm):
    """A staff note on a member."""

    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=5000)])


class GrantForm(FlaskForm):
    """A complimentary perk until a date."""

    perk = SelectField(_l("Perk"), choices=[], validators=[DataRequired()])
    until = DateField(_l("Until (inclusive)"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=255)])


class WithdrawForm(FlaskForm):
    """End a complimentary grant now."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=255)])


class RefundForm(FlaskForm):
    """Refund a payment, all of it or part."""

    amount = StringField(
        _l("Amount (empty: all that is left)"), validators=[Optional(), Length(max=20)]
    )
    # A random key rendered with each page: a double submit of one form is one refund at
    # Stripe, two forms are two refunds (services.new_action_key).
    action_key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])


class PlanForm(FlaskForm):
    """Create or change a plan."""

    slug = StringField(_l("Slug"), validators=SLUG)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    currency = SelectField(_l("Currency"), choices=[])
    position = IntegerField(_l("Order"), default=0, validators=[NumberRange(0, 10_000)])
    active = BooleanField(_l("Offered to readers"), default=True)
    monthly = StringField(_l("Monthly price"), validators=[Optional(), Length(max=20)])
    yearly = StringField(_l("Yearly price"), validators=[Optional(), Length(max=20)])
    pay_what_you_want = BooleanField(_l("Pay what you want"))
    minimum = StringField(_l("Minimum per month"), validators=[Optional(), Length(max=20)])
    trial_days = IntegerField(_l("Trial days"), default=0, validators=[NumberRange(0, 365)])
    perks = MultiCheckboxField(_l("Perks"), choices=[], coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = [(c, c.upper()) for c in CURRENCIES]


class PerkForm(FlaskForm):
    """Create or change a perk."""

    slug = StringField(_l("Slug"), validators=SLUG)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    position = IntegerField(_l("Order"), default=0, validators=[NumberRange(0, 10_000)])
    active = BooleanField(_l("Active"), default=True)


class ReportFilter(FlaskForm):
    """The date range of a report (GET, no CSRF); validated, never a 500."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
