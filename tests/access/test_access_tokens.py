"""Access tokens: issued to signed-in readers, kept in step as a cookie, verified offline, and
every bad token (expired, wrong key, tampered, alg none, wrong algorithm) refused."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from http.cookies import SimpleCookie

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from membership import create_app
from membership.access import tokens
from membership.config import test_config as settings_for_tests
from membership.timeutil import utcnow


def _set_cookies(response) -> dict[str, SimpleCookie]:
    """Set-Cookie headers by cookie name."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            found[name] = morsel
    return found


def _verify_offline(client, token: str) -> dict:
    """Verify a token the way an edge would: the JWKS and PyJWT, no call to the app's logic."""
    jwks = client.get("/api/v1/keys").get_json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk).key
    return jwt.decode(
        token, key, algorithms=["EdDSA"], audience="article-access", issuer="http://127.0.0.1:5000"
    )


def test_the_token_endpoint_needs_a_signed_in_reader(client):
    response = client.get("/api/v1/token")
    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401
    assert "token" not in response.get_json()
    assert "access_token" not in _set_cookies(response)


@pytest.mark.config(COOKIE_DOMAIN="example.org")
@pytest.mark.config(ACCESS_COOKIE_SECURE=True)  # what an https BASE_URL sets
def test_a_signed_in_reader_gets_a_token_that_verifies_offline(client, auth, world):
    user = world.user()
    world.grant(user)
    auth.login()
    response = client.get("/api/v1/token")
    assert response.status_code == 200
    body = response.get_json()
    claims = _verify_offline(client, body["token"])
    assert claims["sub"] == str(user)
    assert claims["perks"] == ["members-only-articles"]
    assert claims["exp"] == body["expires_at"]
    assert 890 <= body["expires_at"] - time.time() <= 900
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "EdDSA" and header["kid"]

    cookie = _set_cookies(response)["access_token"]
    assert cookie.value == body["token"]
    assert cookie["domain"] == "example.org"
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Lax"


def test_signing_in_sets_the_cookie_and_signing_out_clears_it(client, auth, world):
    world.grant(world.user(), "ad-free")
    response = auth.login()
    cookie = _set_cookies(response)["access_token"]
    assert _verify_offline(client, cookie.value)["perks"] == ["ad-free"]

    # no renewal while the token is fresh and the perks are unchanged
    assert "access_token" not in _set_cookies(client.get("/account"))

    response = auth.logout()
    cleared = _set_cookies(response)["access_token"]
    assert (cleared.value, cleared["path"], cleared["max-age"]) == ("", "/", "0")
    assert cleared["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_the_cookie_is_renewed_when_perks_change(client, auth, world):
    user = world.user()
    auth.login()
    world.grant(user)
    cookie = _set_cookies(client.get("/account"))["access_token"]
    assert _verify_offline(client, cookie.value)["perks"] == ["members-only-articles"]


@pytest.mark.config(ACCESS_TOKEN_TTL=60)
def test_the_cookie_is_renewed_near_expiry(app, client, auth, world):
    user = world.user()
    auth.login()
    with app.test_request_context():
        old, _ = tokens.issue(user, [], now=utcnow() - timedelta(seconds=50))
    client.set_cookie("access_token", old)
    renewed = _set_cookies(client.get("/account"))["access_token"]
    assert renewed.value != old
    assert _verify_offline(client, renewed.value)["exp"] > time.time() + 50


@pytest.mark.parametrize("value", ["not-a-token", "a.%%%.c", "a." + "W1tb" * 600 + ".c"])
def test_a_garbled_cookie_is_replaced_not_a_server_error(client, auth, world, value):
    world.user()
    auth.login()
    client.set_cookie("access_token", value)  # "W1tb" is base64 of "[[[": nested too deep
    response = client.get("/account")
    assert response.status_code == 200
    assert _verify_offline(client, _set_cookies(response)["access_token"].value)


# --- the token as a credential ---------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_a_bearer_token_answers_for_its_reader_with_the_perks_they_hold_now(app, ask, world):
    world.rule("slug", "the-river-report")
    user = world.user()
    grant = world.grant(user)
    with app.test_request_context():
        token, _ = tokens.issue(user, ["members-only-articles"])
        stale, _ = tokens.issue(user, [])  # issued before the membership began
    for value in (token, stale):
        status, body = ask("the-river-report", headers=_bearer(value))
        assert status == 200
        assert (body["allowed"], body["reason"]) == (True, "perk")
    world.revoke(grant)  # the token still lists the perk: the answer does not
    status, body = ask("the-river-report", headers=_bearer(token))
    assert (body["allowed"], body["reason"], body["perks"]) == (False, "perk_required", [])


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(app, user_id: int) -> dict[str, str]:
    """Tokens an attacker or a broken edge might send."""
    with app.test_request_context():
        good, _ = tokens.issue(user_id, [])
        expired, _ = tokens.issue(user_id, [], now=utcnow() - timedelta(hours=1))
        key = tokens.keys()[0]
        claims = jwt.decode(good, options={"verify_signature": False})
    head, _payload, signature = good.split(".")
    rich = dict(claims, perks=["members-only-articles"])
    stranger = Ed25519PrivateKey.generate()
    public_pem = key.private.public_key().public_bytes_raw()
    return {
        "expired": expired,
        "wrong key, same kid": jwt.encode(
            rich, stranger, algorithm="EdDSA", headers={"kid": key.kid}
        ),
        "unknown kid": jwt.encode(rich, stranger, algorithm="EdDSA", headers={"kid": "nope"}),
        "tampered perks": f"{head}.{_b64(rich)}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{_b64(rich)}.",
        "HS256 with the public key": jwt.encode(
            rich, public_pem, algorithm="HS256", headers={"kid": key.kid}
        ),
        "wrong audience": jwt.encode(
            dict(rich, aud="other"), key.private, algorithm="EdDSA", headers={"kid": key.kid}
        ),
        "no perks claim": jwt.encode(
            {k: v for k, v in claims.items() if k != "perks"},
            key.private,
            algorithm="EdDSA",
            headers={"kid": key.kid},
        ),
        "garbage": "not-a-token",
        "empty": "",
        "three dots": "a.b.c",
    }


@pytest.mark.parametrize(
    "which",
    ["expired", "wrong key, same kid", "unknown kid", "tampered perks", "alg none",
     "HS256 with the public key", "wrong audience", "no perks claim", "garbage", "empty",
     "three dots"],
)  # fmt: skip
def test_bad_tokens_are_refused(app, client, world, which):
    world.rule("slug", "the-river-report")
    token = _bad_tokens(app, world.user())[which]
    response = client.get("/api/v1/access?article=the-river-report", headers=_bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_authorization_scheme_is_refused(client):
    response = client.get("/api/v1/access?article=x", headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "allowed" not in response.get_json()  # no answer about the article at all


# --- key rotation ------------------------------------------------------------------------------

NEW = "2027-new:" + base64.urlsafe_b64encode(b"n" * 32).rstrip(b"=").decode()
OLD = "2026-old:" + base64.urlsafe_b64encode(b"o" * 32).rstrip(b"=").decode()


@pytest.mark.config(ACCESS_TOKEN_KEYS=f"{NEW},{OLD}")
def test_tokens_of_the_previous_key_still_verify_during_rotation(app, client, world):
    user = world.user()
    with app.test_request_context():
        old_key = tokens.keys()[1]
        claims = {"iss": tokens.issuer(), "aud": tokens.AUDIENCE, "sub": str(user),
                  "perks": [], "iat": int(time.time()), "exp": int(time.time()) + 60}  # fmt: skip
        old_token = jwt.encode(
            claims, old_key.private, algorithm="EdDSA", headers={"kid": "2026-old"}
        )
        new_token, _ = tokens.issue(user, [])
    assert jwt.get_unverified_header(new_token)["kid"] == "2027-new"
    assert [k["kid"] for k in client.get("/api/v1/keys").get_json()["keys"]] == [
        "2027-new",
        "2026-old",
    ]
    response = client.get("/api/v1/access?article=x", headers=_bearer(old_token))
    assert response.status_code == 200
    assert _verify_offline(client, old_token)["sub"] == str(user)


def test_the_key_set_publishes_public_keys_only(client):
    response = client.get("/api/v1/keys")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    for key in response.get_json()["keys"]:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert "d" not in key


@pytest.mark.parametrize("spec", ["no-seed", "2027-short:QUFB", f"{NEW},"])
def test_a_malformed_key_setting_stops_the_app_at_start(database_url, spec):
    with pytest.raises(ValueError, match="ACCESS_TOKEN_KEYS"):
        create_app(settings_for_tests(database_url, ACCESS_TOKEN_KEYS=spec))
