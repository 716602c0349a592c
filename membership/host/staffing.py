"""Outlet staff: accounts that work for one outlet (its statement, its supporters' wall)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from membership import audit
from membership.accounts.models import User
from membership.extensions import db
from membership.fundraisers.models import Outlet
from membership.host.models import OutletStaff


class StaffingError(ValueError):
    """An outlet-staff change that cannot be made; the message is a problem code."""


def outlet_scope(user) -> int | None:
    """The outlet an account works for, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(OutletStaff.outlet_id).where(OutletStaff.user_id == user.id))


def staff_of(outlet: Outlet) -> list[User]:
    """The accounts that work for an outlet."""
    return list(
        db.session.scalars(
            select(User)
            .join(OutletStaff, OutletStaff.user_id == User.id)
            .where(OutletStaff.outlet_id == outlet.id)
            .order_by(User.email)
        )
    )


def assign(email: str, outlet: Outlet, actor) -> User:
    """Let an existing account work for one outlet (replacing any other outlet it had);
    StaffingError('unknown') when no account has that address, ('staff') for staff accounts,
    which see every outlet already."""
    address = (email or "").strip().casefold()
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or getattr(user, "deleted_at", None) is not None:
        raise StaffingError("unknown")
    if user.is_staff:
        raise StaffingError("staff")
    db.session.execute(delete(OutletStaff).where(OutletStaff.user_id == user.id))
    db.session.add(OutletStaff(user_id=user.id, outlet_id=outlet.id))
    db.session.flush()
    audit.record("outlet_staff.added", "user", user.id, actor.id if actor else None,
                 outlet_id=outlet.id, outlet=outlet.slug)  # fmt: skip
    return user


def unassign(user_id: int, outlet: Outlet, actor) -> bool:
    """Stop an account working for an outlet; True when it did."""
    gone = db.session.execute(
        delete(OutletStaff).where(
            OutletStaff.user_id == user_id, OutletStaff.outlet_id == outlet.id
        )
    ).rowcount
    if gone:
        audit.record("outlet_staff.removed", "user", user_id, actor.id if actor else None,
                     outlet_id=outlet.id, outlet=outlet.slug)  # fmt: skip
    return bool(gone)
