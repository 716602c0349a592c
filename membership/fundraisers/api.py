"""GET /api/v1/fundraisers/<slug>/progress: the public figures, cacheable, open to every origin."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _

from membership.errors import render_error
from membership.fundraisers import services

bp = Blueprint("fundraisers_api", __name__)

MAX_AGE = 5  # seconds a browser or CDN may reuse an answer without asking again


@bp.after_request
def _cors(response):
    """Anyone may read the progress from a browser: no credentials, nothing private."""
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    headers["Access-Control-Allow-Headers"] = "If-None-Match"
    headers["Access-Control-Expose-Headers"] = "ETag"
    headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/fundraisers/<slug>/progress")
def progress(slug: str):
    """Raised, goal, backers, percent, end and each outlet's share; strong ETag, 304 on a match."""
    snap = services.snapshot(slug)
    if snap is None or snap.status == "draft":
        response, status = render_error(404, _("No such fundraiser."))
        response.headers["Cache-Control"] = "no-store"
        return response, status
    if request.if_none_match.contains(snap.etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(snap.body, mimetype="application/json")
    response.set_etag(snap.etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response
