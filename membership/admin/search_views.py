"""Staff search: one box in the staff header, across members, donations and gift codes."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms.validators import Length, Optional

from membership.admin.views import bp
from membership.members import search as finder


class StaffSearchForm(FlaskForm):
    """The header's search box (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("E-mail, name, Stripe id or gift code"), validators=[Optional(), Length(max=254)]
    )


@bp.route("/search")
def search():
    """Members, donations and gift codes matching the query, grouped, with links."""
    form = StaffSearchForm(request.args)
    query = (form.q.data or "") if form.validate() else ""
    results = finder.search(query)
    status = 200 if form.validate() else 400
    return render_template("admin/search.html", form=form, results=results), status
