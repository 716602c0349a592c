"""Pages rendered for a signed-in reader or staff are never kept by a browser or shared cache."""

from __future__ import annotations

from membership.accounts.models import Role
from tests.factories import make_user

PRIVATE = "private, no-store"


def test_the_account_page_is_not_cached(app, client, auth):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    for path in ("/account", "/account/password", "/", "/plans"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == PRIVATE, path


def test_a_reader_kept_signed_in_gets_private_pages_too(app, client, auth):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login(remember="y")
    client.delete_cookie("session")  # a new browser session: the remember-me cookie signs in
    response = client.get("/account")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") == PRIVATE


def test_the_staff_area_is_not_cached(app, client, auth):
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")
    for path in ("/admin", "/admin/members"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == PRIVATE, path


def test_public_pages_keep_their_caching(app, client):
    home = client.get("/")
    assert home.status_code == 200
    assert "Cache-Control" not in home.headers  # HTTP's defaults, keyed by its Vary header
    keys = client.get("/api/v1/keys")
    assert keys.headers["Cache-Control"] == "public, max-age=300"


def test_public_answers_to_a_signed_in_reader_keep_their_caching(app, client, auth):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    # The keys are the same for everyone: a signed-in reader asking does not make them private.
    assert client.get("/api/v1/keys").headers["Cache-Control"] == "public, max-age=300"
