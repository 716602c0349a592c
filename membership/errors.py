"""Friendly error pages for people, JSON errors for machines (/api, /webhooks)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from membership.billing.stripe_gateway import PaymentProviderError
from membership.extensions import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """Machine routes answer errors in JSON."""
    return request.path.startswith(("/api/", "/webhooks/"))


def _titles() -> dict[int, str]:
    """Short, translated titles for each status."""
    return {
        400: _("That request could not be understood"),
        403: _("You may not see this page"),
        404: _("Page not found"),
        405: _("That is not allowed here"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        503: _("Payments are unavailable for a moment"),
    }


def render_error(code: int, description: str | None = None):
    """The error response in the shape the caller expects."""
    title = _titles().get(code, _("Error"))
    if wants_json():
        body = {"error": {"status": code, "title": title, "message": description or title}}
        return jsonify(body), code
    return render_template(
        "errors/error.html", code=code, title=title, description=description
    ), code


# What a reader told "try again in a minute" may do: come back after this many seconds.
PROVIDER_RETRY_AFTER = 60


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_error(400, _("The form expired or was sent from elsewhere. Try again."))

    @app.errorhandler(PaymentProviderError)
    def _payment_provider(error: PaymentProviderError):
        # Whatever the request wrote before Stripe failed (a pending gift, a customer id) goes.
        db.session.rollback()
        log.error("payment provider failed on %s %s: %s", request.method, request.path, error)
        message = _(
            "The payment provider cannot be reached right now. Nothing was charged; "
            "please try again in a minute."
        )
        response = make_response(render_error(503, message))
        response.headers["Retry-After"] = str(PROVIDER_RETRY_AFTER)
        return response

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code and error.code >= 500:
            db.session.rollback()
        if error.code == 429:
            response = make_response(render_error(429, _("Please wait a little and try again.")))
        else:
            response = make_response(render_error(error.code or 500, None))
        # The exception's own headers say what the status means: `Allow` on a 405 (RFC 9110
        # 15.5.6), `Retry-After`, `WWW-Authenticate`. Our page replaces its body and type.
        for name, value in error.get_headers():
            if name.lower() not in {"content-type", "content-length"}:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http(error)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(InternalServerError.code, None)
