"""GET /api/v1/fundraisers/<slug>/transparency: raised, fees, host fee and grants per outlet,
cacheable (ETag, Cache-Control) and open to every origin, like the progress API."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _

from membership.errors import render_error
from membership.fundraisers.api import CACHE_CONTROL, CORS_HEADERS
from membership.host import transparency

bp = Blueprint("host_api", __name__)


@bp.after_request
def _cors(response):
    """Anyone may read where the money went: nothing private, no credentials."""
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response


@bp.get("/fundraisers/<slug>/transparency")
def transparency_figures(slug: str):
    """The figures in minor units; strong ETag, 304 on a match; 404 for drafts."""
    snap = transparency.snapshot(slug)
    if snap is None or snap.status == "draft":
        response, status = render_error(404, _("No such fundraiser."))
        response.headers["Cache-Control"] = "no-store"
        return response, status
    if request.if_none_match.contains_weak(snap.etag):
        response = current_app.response_class(status=304, mimetype="application/json")
    else:
        response = current_app.response_class(snap.body, mimetype="application/json")
    response.set_etag(snap.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
