"""GET /api/v1/fundraisers/<slug>/progress: the public figures, cacheable, open to every origin.

With `?lang=<one of LANGUAGES>` the answer adds `display`: the same figures written by Babel
for that language ("15 000,00 €", "39 %", "12 backers"), which the page's script shows, so a
page never formats a number itself. Without it, the answer is exactly the documented shape.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import Blueprint, Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.http import parse_etags

from membership.errors import render_error
from membership.fundraisers import display, totals

bp = Blueprint("fundraisers_api", __name__)

MAX_AGE = 5  # seconds a browser or CDN may reuse an answer without asking again
CACHE_CONTROL = f"public, max-age={MAX_AGE}"
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match"),
    ("Access-Control-Expose-Headers", "ETag"),
    ("Access-Control-Max-Age", "86400"),
]
PREFIX, SUFFIX = "/api/v1/fundraisers/", "/progress"


@bp.after_request
def _cors(response):
    """Anyone may read the progress from a browser: no credentials, nothing private."""
    headers = response.headers
    for name, value in CORS_HEADERS:
        headers[name] = value
    return response


@bp.get("/fundraisers/<slug>/progress")
def progress(slug: str):
    """Raised, goal, backers, percent, end and each outlet's share; strong ETag, 304 on a match."""
    snap = totals.snapshot(slug)
    if snap is None or snap.status == "draft":
        response, status = render_error(404, _("No such fundraiser."))
        response.headers["Cache-Control"] = "no-store"
        return response, status
    etag, body = snap.etag, snap.body
    lang = request.args.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        etag, body = display.localized(snap, lang)
    if request.if_none_match.contains_weak(etag):
        # JSON, not the default text/html: the token-cookie hook leaves machine answers alone.
        response = current_app.response_class(status=304, mimetype="application/json")
    else:
        response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


class ProgressFastPath:
    """WSGI: answer `GET …/progress` (200 or 304) from a memo entry checked against the database
    within FUNDRAISER_PROGRESS_FRESHNESS seconds, without a request context; else Flask answers
    (and refreshes the memo). The headers are the Flask view's, byte for byte."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        """Serve a fresh snapshot, or pass the request on."""
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and path.startswith(PREFIX)
            and path.endswith(SUFFIX)
        ):
            freshness = float(self.app.config.get("FUNDRAISER_PROGRESS_FRESHNESS", 0.5))
            snap = totals.fresh_snapshot(path[len(PREFIX) : -len(SUFFIX)], freshness)
            if snap is not None and snap.status != "draft":
                variant = self._variant(snap, environ.get("QUERY_STRING", ""))
                if variant is not None:
                    return self._answer(*variant, environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _variant(self, snap: totals.Snapshot, query: str) -> tuple[str, bytes] | None:
        """(ETag, body) for the asked language, or None when Flask must build it first."""
        if not query:
            return snap.etag, snap.body
        lang = (parse_qs(query).get("lang") or [""])[0]
        if lang not in self.app.config["LANGUAGES"]:
            return snap.etag, snap.body
        return snap.variants.get(lang)

    def _answer(self, etag: str, body: bytes, environ, start_response):
        """The view's answer, built from the snapshot."""
        headers = [
            *CORS_HEADERS,
            ("Cache-Control", CACHE_CONTROL),
            ("ETag", f'"{etag}"'),
            *self.app.extensions["security_headers"]["closed"],
        ]
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(etag):
            start_response("304 NOT MODIFIED", headers)
            return []
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]


def init_app(app: Flask) -> None:
    """Put the progress fast path in front of the app."""
    app.wsgi_app = ProgressFastPath(app, app.wsgi_app)
