"""The public front page, the health check, and the answer while the database is away."""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from membership.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Plans, perks and the live fundraiser."""
    from membership.billing.forms import CheckoutForm
    from membership.billing.views import active_plans
    from membership.fundraisers.campaigns import teaser

    return render_template(
        "main/index.html",
        plans=active_plans(),
        form=CheckoutForm(ref=request.args.get("ref")),
        fundraiser=teaser(),
    )


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not (a load balancer then sends no
    traffic here; the pool's pre-ping means the first check after a restart already passes)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)


@bp.app_errorhandler(OperationalError)
def database_unavailable(error: OperationalError):
    """503 with Retry-After, not a 500 and its traceback, while the database cannot be reached
    (a restart, a failover): the pool reconnects by itself once it answers again."""
    from membership.errors import render_error

    with contextlib.suppress(OperationalError):  # the connection is gone; the pool forgets it
        db.session.rollback()
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                str(error.orig).strip().splitlines()[0] if error.orig else error)  # fmt: skip
    message = _("The service is briefly unavailable. Try again soon.")
    try:
        response, code = render_error(503, message)
    except OperationalError:  # the page itself asked the database (the signed-in reader)
        with contextlib.suppress(OperationalError):
            db.session.rollback()
        response, code = message, 503
    return response, code, {"Retry-After": "10"}
