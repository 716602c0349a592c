"""The staff area."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from membership.accounts.models import Role, User
from membership.extensions import db
from membership.security import staff_required

bp = Blueprint("admin", __name__)


@bp.before_request
@staff_required
def _staff_only():
    """Every page below /admin needs the staff role at least."""
    return None


@bp.route("/")
def dashboard():
    """Headline figures for staff."""
    counts = dict(
        db.session.execute(
            select(User.role, func.count(User.id))
            .where(User.deleted_at.is_(None))
            .group_by(User.role)
        ).all()
    )
    verified = db.session.scalar(
        select(func.count(User.id)).where(User.verified_at.is_not(None), User.deleted_at.is_(None))
    )
    return render_template(
        "admin/dashboard.html",
        members=counts.get(Role.member, 0),
        staff=counts.get(Role.staff, 0) + counts.get(Role.admin, 0),
        verified=verified,
    )
