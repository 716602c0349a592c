"""The public front page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from membership.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Plans, perks and the live fundraiser (filled in as those land)."""
    return render_template("main/index.html")


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)
