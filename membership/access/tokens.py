"""Access tokens: short-lived EdDSA (Ed25519) JWTs listing a reader's perks, with rotating keys.

Keys come from ACCESS_TOKEN_KEYS ("kid:base64url-seed,…"; the first signs, all verify and are
published at /api/v1/keys). Without that setting a key is derived from SECRET_KEY, which is
fine for development and tests only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from membership.edge import parse_id
from membership.timeutil import utcnow

ALGORITHM = "EdDSA"
AUDIENCE = "article-access"
COOKIE_NAME = "access_token"
LEEWAY_SECONDS = 10


class InvalidAccessToken(Exception):
    """The token is malformed, expired, tampered with, or not signed by one of our keys."""


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key with its key id."""

    kid: str
    private: Ed25519PrivateKey

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK (RFC 8037)."""
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": ALGORITHM,
                "use": "sig"}  # fmt: skip


@dataclass(frozen=True)
class AccessClaims:
    """What a verified token says."""

    user_id: int
    perks: tuple[str, ...]
    expires_at: int


def _b64decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_spec() -> str:
    """A fresh "kid:seed" entry for ACCESS_TOKEN_KEYS."""
    seed = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{utcnow():%Y%m%d}-{secrets.token_hex(3)}:{seed}"


@lru_cache(maxsize=8)
def parse_keys(spec: str, secret_key: str) -> tuple[SigningKey, ...]:
    """The key set from the setting, or one key derived from the secret key when it is empty."""
    if not spec.strip():
        seed = hmac.new(secret_key.encode(), b"access-token-signing-key", hashlib.sha256).digest()
        kid = "derived-" + hashlib.sha256(seed).hexdigest()[:8]
        return (SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed)),)
    keys = []
    for entry in spec.split(","):
        kid, sep, seed_text = entry.strip().partition(":")
        if not sep or not kid:
            raise ValueError("ACCESS_TOKEN_KEYS entries look like kid:base64url-seed")
        seed = _b64decode(seed_text.strip())
        if len(seed) != 32:
            raise ValueError(f"ACCESS_TOKEN_KEYS: key {kid!r} must be a 32-byte seed")
        keys.append(SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed)))
    return tuple(keys)


def keys() -> tuple[SigningKey, ...]:
    """This app's key set; the first key signs."""
    config = current_app.config
    return parse_keys(config.get("ACCESS_TOKEN_KEYS") or "", config["SECRET_KEY"])


def jwks() -> dict[str, list[dict[str, str]]]:
    """The public keys, as a JSON Web Key Set for offline verification."""
    return {"keys": [key.public_jwk for key in keys()]}


def issuer() -> str:
    """The `iss` claim: this app's public address."""
    return current_app.config["BASE_URL"]


def issue(user_id: int, perks: list[str], now: datetime | None = None) -> tuple[str, int]:
    """Sign a token for a reader and their current perks; returns (token, expiry unix time)."""
    now = now or utcnow()
    issued = int(now.timestamp())
    expires = issued + int(current_app.config["ACCESS_TOKEN_TTL"])
    key = keys()[0]
    claims = {
        "iss": issuer(),
        "aud": AUDIENCE,
        "sub": str(user_id),
        "perks": sorted(perks),
        "iat": issued,
        "exp": expires,
    }
    token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, expires


def verify(token: str) -> AccessClaims:
    """Check signature (EdDSA only, known kid), expiry, issuer and audience; return the claims."""
    if not token or len(token) > 4096:
        raise InvalidAccessToken("no token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidAccessToken("algorithm not allowed")
    key = next((k for k in keys() if k.kid == header.get("kid")), None)
    if key is None:
        raise InvalidAccessToken("unknown key id")
    try:
        claims = jwt.decode(
            token,
            key.private.public_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    perks = claims.get("perks")
    sub = claims.get("sub")
    if not isinstance(perks, list) or not all(isinstance(p, str) for p in perks):
        raise InvalidAccessToken("perks claim missing")
    user_id = parse_id(sub)  # ASCII digits within the id range: "²" is a digit to isdigit()
    if user_id is None:
        raise InvalidAccessToken("bad subject")
    return AccessClaims(user_id, tuple(perks), int(claims["exp"]))


def needs_renewal(claims: dict | None, user_id: int, perks: list[str], now: int, ttl: int) -> bool:
    """Whether a cookie's token (its peeked claims) is missing, someone else's, stale in perks,
    or within the last third of its lifetime."""
    if claims is None:
        return True
    expires = claims.get("exp")
    return (
        claims.get("sub") != str(user_id)
        or claims.get("perks") != perks
        or not isinstance(expires, int)
        or expires - now < ttl // 3
    )


def peek(token: str) -> dict | None:
    """The claims of a token WITHOUT checking its signature: only to decide whether the cookie
    we set earlier needs renewing, never to grant anything."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(_b64decode(payload))
    except (IndexError, ValueError, RecursionError):  # the cookie is the client's to forge
        return None
    return claims if isinstance(claims, dict) else None
