"""Who may open which staff page: anonymous → login, members → 403, staff, and admin-only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from membership.audit import AuditEntry
from membership.billing.models import StripeEvent
from membership.extensions import db
from membership.timeutil import utcnow
from tests.factories import make_user

PAGES = [
    "/admin/", "/admin/members", "/admin/members.csv", "/admin/members/{member}",
    "/admin/reports", "/admin/reports/members", "/admin/reports/movement", "/admin/reports/mrr",
    "/admin/reports/revenue", "/admin/reports/grace", "/admin/reports/conversions",
    "/admin/reports/revenue.csv", "/admin/catalogue", "/admin/catalogue/plans/new",
    "/admin/catalogue/perks/new", "/admin/webhooks",
]  # fmt: skip
POSTS = [
    "/admin/members/{member}/notes", "/admin/members/{member}/grants",
    "/admin/members/{member}/resend-verification", "/admin/catalogue/sync",
    "/admin/webhooks/evt_x/replay",
]  # fmt: skip
ADMIN_ONLY = ["/admin/members/{member}/payments/1/refund"]


@pytest.fixture
def member_id(app):
    with app.app_context():
        user = make_user(email="reader@example.org")
        db.session.add(StripeEvent(id="evt_x", type="invoice.paid", created=utcnow(), payload={}))
        db.session.commit()
        return user.id


def _open(client, auth, path: str, member: int, signed_in: bool = True):
    """GET a page, or POST to an action with a valid CSRF token."""
    if path in PAGES:
        return client.get(path.format(member=member))
    form_page = "/account" if signed_in else "/login"
    return auth.post(path.format(member=member), {}, form_page=form_page)


def test_anonymous_visitors_go_to_the_login_page(client, auth, member_id):
    for path in PAGES + POSTS + ADMIN_ONLY:
        response = _open(client, auth, path, member_id, signed_in=False)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_members_get_403(app, client, auth, member_id, mailbox):
    auth.login()
    for path in PAGES + POSTS + ADMIN_ONLY:
        response = _open(client, auth, path, member_id)
        assert response.status_code == 403, path
        page = response.get_data(as_text=True)
        assert "You may not see this page" in page and 'class="admin-nav"' not in page, path
    with app.app_context():  # and no staff action ran
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert mailbox.messages == []


def test_staff_open_every_page_but_may_not_refund(client, auth, catalogue, staff, member_id):
    for path in PAGES:
        response = client.get(path.format(member=member_id))
        assert response.status_code == 200, path
        if response.mimetype == "text/csv":
            assert response.get_data(as_text=True).splitlines()[0].count(",") >= 1, path
        else:
            assert 'class="admin-nav"' in response.get_data(as_text=True), path
    for path in ADMIN_ONLY:
        response = _open(client, auth, path, member_id)
        assert response.status_code == 403
        assert "You may not see this page" in response.get_data(as_text=True)


def test_admin_reaches_the_refund_route(client, auth, admin, member_id):
    response = _open(client, auth, ADMIN_ONLY[0], member_id)
    assert response.status_code == 404  # past the role check: no such payment
    assert "Page not found" in response.get_data(as_text=True)
