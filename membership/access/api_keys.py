"""API keys for a newsroom's CMS: made once, shown once, kept only as a hash, revoked at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select

from membership import audit
from membership.access.models import ApiKey
from membership.access.services import WROTE
from membership.accounts.models import User
from membership.extensions import db
from membership.timeutil import utcnow

API_KEY_PREFIX = "mk_"
MAX_KEY_LENGTH = 128
MARK_USE_EVERY = timedelta(hours=1)  # how often a key's last use is written down

# For the access fast path's live cache (below Flask, on its own connection): an active key's id
# and its last use (a question with a mark older than MARK_USE_EVERY goes to Flask to write it).
KEY_STATE = select(ApiKey.id, ApiKey.last_used_at).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)


def hash_key(key: str) -> str:
    """SHA-256 of a key: keys are long and random, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, admin: User) -> tuple[ApiKey, str]:
    """A new key for a CMS; returns the row and the key itself, which is never shown again."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name.strip()[:120] or "CMS",
        prefix=key[:10],
        key_hash=hash_key(key),
        created_by_id=admin.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("access.api_key_created", "api_key", row.id, actor_id=admin.id, name=row.name)
    return row, key


def revoke_api_key(row: ApiKey, admin: User) -> None:
    """Stop a key from working, now."""
    if row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    db.session.flush()
    audit.record("access.api_key_revoked", "api_key", row.id, actor_id=admin.id, name=row.name)


def list_api_keys() -> list[ApiKey]:
    """Every key, newest first."""
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def plausible(key: str) -> bool:
    """Whether a presented key could be one of ours at all (the rest is refused unread)."""
    return key.startswith(API_KEY_PREFIX) and len(key) <= MAX_KEY_LENGTH


def find_api_key(key: str) -> ApiKey | None:
    """The active key row for a presented key, or None; marks when it was last used (hourly)."""
    if not plausible(key):
        return None
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > MARK_USE_EVERY:
        row.last_used_at = now
        db.session.flush()
        db.session.info[WROTE] = True
    return row
