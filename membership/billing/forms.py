"""Forms for joining and managing a membership."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, InputRequired, Length, Optional


class CheckoutForm(FlaskForm):
    """Choose monthly or yearly (and an amount for pay-what-you-want plans)."""

    # Radio buttons rendered by the template; a plain field avoids WTForms' choice tuples.
    interval = StringField(
        _l("Billing"), default="month", validators=[InputRequired(), AnyOf(["month", "year"])]
    )
    amount = StringField(_l("Your amount"), validators=[Optional(), Length(max=20)])
    ref = HiddenField(validators=[Optional(), Length(max=200)])
