"""The public front page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import text

from membership.extensions import db

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
