"""Access tokens as the app signs them, and tokens that must open nothing: tampered, `alg: none`,
HS256 keyed with the public key, a stranger's key, an unknown key id, expired, another issuer or
audience, garbage. For every verifier that claims to check tokens offline."""

from __future__ import annotations

import base64
import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from membership.access import tokens


def signed(app, user: int, perks: list[str], kid: str | None = None, **claims) -> str:
    """A token signed by one of the app's keys (the signing key, or `kid`), `claims` overriding."""
    with app.app_context():
        key = next(k for k in tokens.keys() if kid is None or k.kid == kid)  # noqa: SIM118
        now = int(time.time())
        body = {"iss": tokens.issuer(), "aud": tokens.AUDIENCE, "sub": str(user), "perks": perks,
                "iat": now, "exp": now + 600, **claims}  # fmt: skip
        return jwt.encode(body, key.private, algorithm="EdDSA", headers={"kid": key.kid})


def forged(app, user: int, perks: list[str]) -> dict[str, str]:
    """Tokens no verifier may accept, by what is wrong with them."""
    good = signed(app, user, perks)
    head, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    more = json.dumps({**claims, "perks": [*perks, "insider-newsletter"]}).encode()
    tampered = base64.urlsafe_b64encode(more).rstrip(b"=").decode()
    with app.app_context():
        kid = tokens.keys()[0].kid
        public_x = tokens.jwks()["keys"][0]["x"]
    stranger = Ed25519PrivateKey.generate()
    return {
        "tampered perks": f"{head}.{tampered}.{signature}",
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        "HS256 keyed with the public key": jwt.encode(
            claims, public_x, algorithm="HS256", headers={"kid": kid}
        ),
        "a stranger's key": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": kid}),
        "an unknown key id": jwt.encode(
            claims, stranger, algorithm="EdDSA", headers={"kid": "rogue"}
        ),
        "expired": signed(app, user, perks, exp=int(time.time()) - 60),
        "another issuer": signed(app, user, perks, iss="https://evil.example"),
        "another audience": signed(app, user, perks, aud="something-else"),
        "garbage": "not.a.token",
    }
