"""Forms for joining and managing a membership."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional


class CheckoutForm(FlaskForm):
    """Choose monthly or yearly (and an amount for pay-what-you-want plans)."""

    # Radio buttons rendered by the template; a plain field avoids WTForms' choice tuples.
    interval = StringField(
        _l("Billing"), default="month", validators=[InputRequired(), AnyOf(["month", "year"])]
    )
    amount = StringField(_l("Your amount"), validators=[Optional(), Length(max=20)])
    ref = HiddenField(validators=[Optional(), Length(max=200)])


class CancellationForm(FlaskForm):
    """The cancel page: an optional reason and comment, shared by its three choices (pause,
    the offer, cancel); `months` only matters to the pause. Radios are rendered by hand."""

    reason = StringField(_l("Why are you leaving?"), validators=[Optional(), Length(max=32)])
    comment = TextAreaField(
        _l("Anything you would like to tell us?"), validators=[Optional(), Length(max=1000)]
    )
    months = StringField(
        _l("How long?"),
        validators=[Optional(), AnyOf(["1", "2", "3"], message=_l("Choose 1, 2 or 3 months."))],
    )
