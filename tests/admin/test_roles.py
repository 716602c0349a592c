"""Who may enter the staff area, and the command that makes staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from membership.accounts.models import Role, User
from membership.extensions import db
from tests.conftest import PASSWORD
from tests.factories import make_user


@pytest.mark.parametrize("path", ["/admin", "/admin/"])
def test_anonymous_goes_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_member_gets_403(app, client, auth):
    with app.app_context():
        make_user()
    auth.login()
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "You may not see this page" in response.get_data(as_text=True)


def test_staff_and_admin_see_the_dashboard(app, client, auth):
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
        make_user(email="boss@example.org", role=Role.admin)
        make_user(email="m1@example.org")
        make_user(email="m2@example.org", verified=False)
    for email in ("staff@example.org", "boss@example.org"):
        auth.login(email=email)
        page = client.get("/admin/").get_data(as_text=True)
        assert '<span class="figure" id="stat-members">2</span>' in page
        assert '<span class="figure" id="stat-staff">2</span>' in page
        auth.logout()


def test_create_staff_command(app, runner):
    result = runner.invoke(args=["users", "create-staff", "Ed@Example.org", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "ed@example.org is now staff." in result.output
    result = runner.invoke(args=["users", "create-staff", "ed@example.org", "--admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.role)) == Role.admin


def test_create_staff_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["users", "create-staff", "ed@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.email)) == "ed@example.org"


def test_create_staff_refuses_bad_input(app, runner):
    bad_email = runner.invoke(
        args=["users", "create-staff", "not-an-email", "--password", PASSWORD]
    )
    weak = runner.invoke(args=["users", "create-staff", "ed@example.org", "--password", "short"])
    assert bad_email.exit_code == weak.exit_code == 1
    assert "Error:" in bad_email.output and "Traceback" not in bad_email.output
    assert "at least 10 characters" in weak.output
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_demo_seed_prints_the_staff_password_once(app, runner):
    first = runner.invoke(args=["demo", "seed", "--members", "3", "--once"])
    assert first.exit_code == 0, first.output
    assert "Staff sign-in: staff@example.org / " in first.output
    assert "Demo data loaded: 1 staff account, 4 perks and 3 plans, 3 members" in first.output
    again = runner.invoke(args=["demo", "seed", "--once"])
    assert "Staff sign-in" not in again.output
    password = first.output.split("staff@example.org / ")[1].split()[0]
    with app.test_client() as client:
        from tests.conftest import Actions

        actions = Actions(client, None)
        assert actions.login(email="staff@example.org", password=password).status_code == 303
        assert client.get("/admin/").status_code == 200


def test_demo_seed_refuses_negative_counts(runner):
    result = runner.invoke(args=["demo", "seed", "--members", "-1"])
    assert result.exit_code == 1
    assert "--members must be between" in result.output
