"""Billing fixtures: the demo catalogue and a signed-in reader."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.billing.demo import seed_catalogue
from membership.billing.models import Membership, Plan
from membership.demo import Summary
from membership.extensions import db
from tests.factories import make_user


@pytest.fixture
def catalogue(app):
    """The demo perks and plans (supporter, insider with a trial, solidarity pay-what-you-want)."""
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


@pytest.fixture
def reader(app, catalogue, auth):
    """A verified reader, signed in through the form."""
    with app.app_context():
        user = make_user(email="reader@example.org", name="Nino")
        user_id = user.id
    auth.login()
    return user_id


def join(auth, plan="supporter", interval="month", amount=None):
    """Press a plan's join button; returns the Checkout URL the app redirected to."""
    data = {"interval": interval}
    if amount is not None:
        data["amount"] = amount
    response = auth.post(f"/plans/{plan}/checkout", data, form_page="/plans")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def membership_of(app, user_id: int) -> Membership | None:
    """The reader's newest membership, detached for assertions."""
    with app.app_context():
        m = db.session.scalar(
            select(Membership).where(Membership.user_id == user_id).order_by(Membership.id.desc())
        )
        if m is not None:
            db.session.expunge(m)
        return m


def plan_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Plan.id).where(Plan.slug == slug))
