"""Staff forms for access rules and CMS API keys."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from membership.access.models import RuleKind


def kind_choices() -> list[tuple[str, str]]:
    """The kinds of reference a rule can use, explained."""
    return [
        (RuleKind.id.value, _l("Article id")),
        (RuleKind.slug.value, _l("Article slug")),
        (RuleKind.tag.value, _l("Tag")),
        (RuleKind.path.value, _l("URL path prefix (a section)")),
    ]


class RuleForm(FlaskForm):
    """Which perk articles matching a reference need."""

    kind = SelectField(_l("The CMS's reference"), choices=[])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=255)])
    perk = SelectField(_l("Perk needed"), choices=[])
    note = StringField(_l("Note for staff"), validators=[Length(max=255)])

    def __init__(self, perks, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()
        self.perk.choices = [("", _l("None: open to everyone"))] + [
            (perk.slug, perk.name) for perk in perks
        ]


class ApiKeyForm(FlaskForm):
    """A new key for a CMS."""

    name = StringField(_l("Who uses it"), validators=[DataRequired(), Length(max=120)])
