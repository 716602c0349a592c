"""Forms for buying and redeeming a gift membership."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from membership.accounts.forms import valid_email


class GiftForm(FlaskForm):
    """Plan and months (selects rendered by the template), the recipient, a message."""

    plan = StringField(_l("Plan"), validators=[DataRequired(), Length(max=64)])
    months = StringField(
        _l("Length"),
        default="6",
        validators=[
            DataRequired(),
            AnyOf(["3", "6", "12"], message=_l("Choose 3, 6 or 12 months.")),
        ],
    )
    recipient_email = EmailField(
        _l("Their e-mail"), validators=[DataRequired(), Length(max=254), valid_email]
    )
    message = TextAreaField(_l("A message for them (optional)"), validators=[Length(max=500)])
    buyer_email = EmailField(
        _l("Your e-mail, for the receipt"), validators=[Optional(), Length(max=254), valid_email]
    )


class RedeemForm(FlaskForm):
    """The code from the gift mail."""

    code = StringField(_l("Gift code"), validators=[DataRequired(), Length(max=40)])
