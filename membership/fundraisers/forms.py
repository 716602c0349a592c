"""The donation form; amounts and outlets are checked by the service against the campaign.

Names and messages for the public wall pass membership.edge's filters: no control characters,
no invisible formatting that could reorder or hide text (bidirectional overrides, …)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from membership.edge import clean_line, clean_message

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ALL_OUTLETS = "all"  # the donation form's value for "shared equally between the outlets"


def not_reserved(form, field) -> None:
    """An outlet's slug cannot be "all": the donation form uses it for the split."""
    if (field.data or "").strip().lower() == ALL_OUTLETS:
        raise ValidationError(
            _l("“all” is reserved for gifts shared by all newsrooms; choose another slug.")
        )


class DonateForm(FlaskForm):
    """Amount (a preset or the reader's own), once or monthly, for whom, and the wall entry."""

    amount = StringField(_l("Your own amount"), validators=[Optional(), Length(max=30)])
    preset = StringField(validators=[Optional(), Length(max=30)])
    frequency = StringField(_l("How often"), default="once", validators=[Optional()])
    outlet = StringField(_l("For"), default="all", validators=[Optional(), Length(max=64)])
    public_name = StringField(
        _l("Name on the supporters' wall (leave empty to give anonymously)"),
        filters=[clean_line],
        validators=[Optional(), Length(max=80)],
    )
    message = TextAreaField(
        _l("A message for the newsrooms"),
        filters=[clean_message],
        validators=[Optional(), Length(max=500)],
    )
    ref = HiddenField(validators=[Optional(), Length(max=200)])  # the article, from ?ref=


# --- staff forms ------------------------------------------------------------------------------


class CampaignForm(FlaskForm):
    """Create or edit a campaign; amounts in major units, times in UTC."""

    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    slug = StringField(
        _l("Address (slug)"),
        validators=[
            InputRequired(),
            Length(max=64),
            Regexp(SLUG, message=_l("Use a-z, 0-9 and -.")),
        ],
    )
    story = TextAreaField(_l("Story (Markdown)"), validators=[Optional(), Length(max=20000)])
    goal = StringField(_l("Goal"), validators=[InputRequired(), Length(max=20)])
    currency = StringField(
        _l("Currency (ISO code)"),
        default="eur",
        validators=[InputRequired(), Regexp(r"^[A-Za-z]{3}$", message=_l("Three letters: EUR."))],
    )
    starts_at = DateTimeLocalField(_l("Starts (UTC)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired()])  # fmt: skip
    ends_at = DateTimeLocalField(_l("Ends (UTC)"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired()])  # fmt: skip
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("draft", _l("Draft (staff only)")),
            SelectChoice("live", _l("Live")),
            SelectChoice("ended", _l("Ended")),
        ],
    )
    min_amount = StringField(_l("Smallest gift"), default="5", validators=[InputRequired()])
    max_amount = StringField(_l("Largest gift"), default="10000", validators=[InputRequired()])
    presets = StringField(
        _l("Preset amounts, comma-separated"),
        default="10, 25, 50, 100",
        validators=[Optional(), Length(max=200)],
    )


class OutletForm(FlaskForm):
    """Add or edit one of the campaign's newsrooms."""

    slug = StringField(
        _l("Slug"),
        validators=[
            InputRequired(),
            Length(max=64),
            not_reserved,
            Regexp(SLUG, message=_l("Use a-z, 0-9 and -.")),
        ],
    )
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    url = URLField(_l("Link"), validators=[Optional(), Length(max=500), URL()])
    logo_url = URLField(_l("Logo address"), validators=[Optional(), Length(max=500), URL()])
    blurb = StringField(_l("Short text"), validators=[Optional(), Length(max=500)])
    goal = StringField(_l("Own goal (optional)"), validators=[Optional(), Length(max=20)])
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(-(2**31), 2**31 - 1)]
    )


class MilestoneForm(FlaskForm):
    """A stretch goal."""

    amount = StringField(_l("At"), validators=[InputRequired(), Length(max=20)])
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])


class RewardTierForm(FlaskForm):
    """A reward: a perk for some months from a minimum gift."""

    minimum = StringField(_l("From"), validators=[InputRequired(), Length(max=20)])
    perk = SelectField(_l("Perk"), coerce=int)
    months = IntegerField(
        _l("Months"), default=6, validators=[InputRequired(), NumberRange(1, 120)]
    )
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])


class OfflineGiftForm(FlaskForm):
    """A gift that came by bank transfer or in cash."""

    amount = StringField(_l("Amount"), validators=[InputRequired(), Length(max=20)])
    outlet = SelectField(_l("For"), default="all")
    received_on = DateField(_l("Received on"), validators=[Optional()])
    email = EmailField(
        _l("Donor's e-mail (for the receipt)"), validators=[Optional(), Email(), Length(max=254)]
    )
    public_name = StringField(
        _l("Name on the wall"), filters=[clean_line], validators=[Optional(), Length(max=80)]
    )
    message = TextAreaField(
        _l("Message"), filters=[clean_message], validators=[Optional(), Length(max=500)]
    )
    note = StringField(_l("Note (staff only)"), validators=[Optional(), Length(max=255)])
