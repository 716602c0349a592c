"""CMS API keys (server to server) and the staff pages for keys and rules."""

from __future__ import annotations

import re

import pytest

from membership.access.models import AccessRule, ApiKey
from membership.accounts.models import Role
from membership.extensions import db


@pytest.fixture
def admin(world, auth):
    """An admin, signed in."""
    world.user("admin@example.org", role=Role.admin)
    auth.login("admin@example.org")


def _create_key(auth, name="WordPress") -> str:
    response = auth.post("/admin/access/keys", {"name": name}, follow_redirects=True)
    assert response.status_code == 200
    match = re.search(r'<code id="new-key">([^<]+)</code>', response.get_data(as_text=True))
    assert match, "the new key is shown"
    return match.group(1)


def test_an_admin_creates_a_key_shown_once_and_stored_hashed(app, client, auth, admin):
    key = _create_key(auth)
    assert key.startswith("mk_") and len(key) > 40
    page = client.get("/admin/access/keys").get_data(as_text=True)
    assert key not in page
    assert "WordPress" in page
    with app.app_context():
        row = db.session.scalar(db.select(ApiKey))
        assert row.key_hash != key and key not in row.key_hash and len(row.key_hash) == 64


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_cms_asks_about_a_member_by_id_or_email(app, client, auth, admin, world):
    key = _create_key(auth)
    auth.logout()
    world.rule("slug", "the-river-report")
    member = world.user("nino@example.org")
    world.grant(member)
    server = app.test_client()  # a CMS server: no session, only the key
    headers = {"X-API-Key": key}
    for params in ({"member": str(member)}, {"email": "Nino@Example.org"}):
        response = server.get(
            "/api/v1/access",
            query_string={"article": "the-river-report", **params},
            headers=headers,
        )
        assert response.status_code == 200
        assert response.get_json()["allowed"] is True
    response = server.get(
        "/api/v1/access?article=the-river-report&email=nobody@example.org", headers=headers
    )
    assert response.status_code == 404
    for bad in ("abc", "\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT ONE}", "1" * 5000):
        response = server.get(
            "/api/v1/access",
            query_string={"article": "the-river-report", "member": bad},
            headers=headers,
        )
        assert response.status_code == 400, bad
    response = server.get("/api/v1/access?article=the-river-report", headers=headers)
    assert response.get_json()["allowed"] is False  # nobody in particular


def test_a_revoked_or_made_up_key_is_refused(app, client, auth, admin):
    key = _create_key(auth)
    with app.app_context():
        key_id = db.session.scalar(db.select(ApiKey.id))
    response = auth.post(f"/admin/access/keys/{key_id}/revoke", form_page="/admin/access/keys")
    assert response.status_code == 303
    assert ">revoked</td>" in client.get("/admin/access/keys").get_data(as_text=True)
    server = app.test_client()
    for presented in (key, "mk_made-up", "x" * 500, ""):
        response = server.get("/api/v1/access?article=x", headers={"X-API-Key": presented})
        assert response.status_code == 401
        error = response.get_json()["error"]
        assert error["status"] == 401 and error["message"], presented
        assert "allowed" not in response.get_json()  # no answer about the article at all


def test_keys_are_for_admins_and_rules_for_staff(client, auth, world):
    anonymous = client.get("/admin/access/rules")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    world.user("member@example.org")
    auth.login("member@example.org")
    member = client.get("/admin/access/rules")
    assert member.status_code == 403
    assert "Article access rules" not in member.get_data(as_text=True)
    auth.logout()
    world.user("staff@example.org", role=Role.staff)
    auth.login("staff@example.org")
    rules = client.get("/admin/access/rules")
    assert rules.status_code == 200
    assert "<h1>Article access rules</h1>" in rules.get_data(as_text=True)
    keys = client.get("/admin/access/keys")
    assert keys.status_code == 403
    assert "CMS API keys" not in keys.get_data(as_text=True)


def test_staff_add_and_remove_a_rule(app, client, auth, world, ask):
    world.perk("members-only-articles")
    world.user("staff@example.org", role=Role.staff)
    auth.login("staff@example.org")
    data = {
        "kind": "path",
        "value": "https://x.org/investigations/",
        "perk": "members-only-articles",
    }
    response = auth.post("/admin/access/rules", data)
    assert response.status_code == 303
    assert ask("/investigations/story", peek="1")[1]["required_perk"] == "members-only-articles"
    again = auth.post("/admin/access/rules", data)
    assert again.status_code == 400
    assert "exists already" in again.get_data(as_text=True)
    with app.app_context():
        rule = db.session.scalar(db.select(AccessRule))
        assert rule.value == "/investigations"
    response = auth.post(f"/admin/access/rules/{rule.id}/delete", form_page="/admin/access/rules")
    assert response.status_code == 303
    assert ask("/investigations/story")[1]["reason"] == "open"


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_key_marks_its_use_hourly_and_commits_only_then(app, client, auth, admin, world):
    from sqlalchemy import event

    key = _create_key(auth)
    auth.logout()
    server = app.test_client()
    commits = []

    def count(conn):
        commits.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", count)
    try:
        for _ in range(3):
            response = server.get("/api/v1/access?article=x", headers={"X-API-Key": key})
            assert response.status_code == 200
    finally:
        event.remove(engine, "commit", count)
    assert len(commits) == 1  # the first use is recorded; the next two write nothing
    with app.app_context():
        assert db.session.scalar(db.select(ApiKey.last_used_at)) is not None
