"""CORS: credentialed answers only for the CMS origins in the settings."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.config(CMS_ORIGINS=["https://www.example.org"])


def test_an_allowed_cms_origin_may_read_with_credentials(client):
    response = client.get("/api/v1/access?article=x", headers={"Origin": "https://www.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_the_preflight_allows_get_with_authorization(client):
    response = client.options(
        "/api/v1/access?article=x",
        headers={
            "Origin": "https://www.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://www.example.org", "https://www.example.org.evil", "null"],
)
def test_other_origins_get_no_cors_headers(client, origin):
    for path in ("/api/v1/access?article=x", "/api/v1/token"):
        response = client.get(path, headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_the_token_endpoint_is_credentialed_for_the_cms_too(client):
    response = client.get("/api/v1/token", headers={"Origin": "https://www.example.org"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
