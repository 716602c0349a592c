"""A method a route does not take answers 405 with `Allow` naming the ones it does (RFC 9110
15.5.6), on the API, the pages and the webhook endpoint alike."""

from __future__ import annotations

import pytest

ROUTES = {
    "/api/v1/access": {"GET", "HEAD", "OPTIONS"},
    "/api/v1/keys": {"GET", "HEAD", "OPTIONS"},
    "/api/v1/token": {"GET", "HEAD", "OPTIONS"},
    "/api/v1/openapi.json": {"GET", "HEAD", "OPTIONS"},
    "/api/v1/fundraisers/any/progress": {"GET", "HEAD", "OPTIONS"},
    "/healthz": {"GET", "HEAD", "OPTIONS"},
    "/webhooks/stripe": {"POST", "OPTIONS"},
}


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", sorted(ROUTES))
def test_a_method_the_route_does_not_take_is_told_which_it_does(client, path, method):
    response = client.open(path, method=method, headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == ROUTES[path]
    if path.startswith("/api/"):
        assert response.get_json()["error"]["status"] == 405


def test_a_page_refuses_a_method_with_allow_too(client):
    response = client.open("/login", method="DELETE")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "text/html" in response.content_type
