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
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask, current_app

from membership.edge import parse_id
from membership.timeutil import utcnow

ALGORITHM = "EdDSA"
AUDIENCE = "article-access"
COOKIE_NAME = "access_token"
LEEWAY_SECONDS = 10
MAX_TOKEN_LENGTH = 4096
MEMO_SIZE = 4096  # verified tokens remembered per process


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
    return verifier(current_app).verify(token)


class Verifier:
    """Verifies tokens for one key set and issuer, remembering the tokens that verified.

    An Ed25519 signature check costs more than the rest of an access answer, and a CMS sends the
    same reader's token with every question, so a verified token's claims are kept by its
    exact text (signature included: a token changed by one bit is another key) together with
    the time window in which PyJWT accepts it (`iat`/`nbf` and `exp`, with the same leeway). A
    remembered token is accepted only inside that window, by the same clock PyJWT reads, so an
    expired token is refused as before. Bounded; a token that fails is not remembered. What the
    claims say about perks is not trusted for answers: the access API reads them live.
    """

    def __init__(self, signing_keys: tuple[SigningKey, ...], issued_by: str) -> None:
        self.keys = signing_keys
        self.issuer = issued_by
        self._memo: dict[str, tuple[AccessClaims, float, float]] = {}

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; InvalidAccessToken otherwise."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidAccessToken("no token")
        seen = self._memo.get(token)
        if seen is not None:
            claims, valid_from, valid_until = seen
            if valid_from <= time.time() < valid_until:
                return claims
        claims, valid_from, valid_until = self._check(token)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[token] = (claims, valid_from, valid_until)
        return claims

    def _check(self, token: str) -> tuple[AccessClaims, float, float]:
        """Verify in full: (claims, first and last moment PyJWT accepts the token)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidAccessToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidAccessToken("algorithm not allowed")
        key = next((k for k in self.keys if k.kid == header.get("kid")), None)
        if key is None:
            raise InvalidAccessToken("unknown key id")
        try:
            claims = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
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
        expires = int(claims["exp"])
        # PyJWT refuses iat (and nbf) later than now + leeway, and exp at or before now - leeway.
        starts = max(int(claims["iat"]), int(claims.get("nbf", claims["iat"])))
        valid = (starts - LEEWAY_SECONDS, expires + LEEWAY_SECONDS)
        return AccessClaims(user_id, tuple(perks), expires), *valid


def verifier(app: Flask) -> Verifier:
    """The app's Verifier (one per process), rebuilt if the key set or BASE_URL changed."""
    config = app.config
    signing_keys = parse_keys(config.get("ACCESS_TOKEN_KEYS") or "", config["SECRET_KEY"])
    issued_by = config["BASE_URL"]
    found = app.extensions.get("access_token_verifier")
    if found is None or found.keys is not signing_keys or found.issuer != issued_by:
        found = app.extensions["access_token_verifier"] = Verifier(signing_keys, issued_by)
    return found


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
