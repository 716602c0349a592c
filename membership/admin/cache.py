"""The dashboard's revenue figures, cached under a version of the append-only ledger.

The version is read from the database on every request, so a cached value is used only while the
ledger holds the rows it was computed from; correctness never depends on the cache. The cache is
Redis when REDIS_URL is set (shared by every process behind the load balancer), else a small memo
per process.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from flask import current_app
from sqlalchemy import func, select

from membership.admin import reports
from membership.extensions import db
from membership.ledger.models import LedgerEntry

log = logging.getLogger(__name__)

# Transactions may commit out of id order; counting the newest ids catches a late one.
WINDOW = 1000
MEMO_SIZE = 32
TTL = 24 * 3600
_clients: dict[str, object] = {}


def ledger_version() -> str:
    """A key every new ledger row changes: newest id, its time, how many of the last ids exist."""
    newest = db.session.execute(
        select(LedgerEntry.id, LedgerEntry.created_at).order_by(LedgerEntry.id.desc()).limit(1)
    ).first()
    if newest is None:
        return "empty"
    recent = db.session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.id > newest.id - WINDOW)
    )
    return f"{newest.id}.{recent}.{newest.created_at.timestamp():.6f}"


def _redis():
    """The Redis client when REDIS_URL is set, else None."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
    return _clients[url]


def _memo() -> dict[str, str]:
    """This process's memo for the current app."""
    return current_app.extensions.setdefault("admin_dashboard_memo", {})


def _get(key: str) -> str | None:
    """A cached value, or None (a Redis failure is a miss, never an error page)."""
    client = _redis()
    if client is None:
        return _memo().get(key)
    try:
        value = client.get(key)
    except Exception:  # redis down: compute from the database
        log.warning("dashboard cache: redis get failed", exc_info=True)
        return None
    return value.decode() if isinstance(value, bytes) else value


def _put(key: str, value: str) -> None:
    """Store a value (best effort)."""
    client = _redis()
    if client is None:
        memo = _memo()
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = value
        return
    try:
        client.set(key, value, ex=TTL)
    except Exception:  # redis down: the next request computes again
        log.warning("dashboard cache: redis set failed", exc_info=True)


def clear() -> None:
    """Forget this process's memo (benchmarks measure the cold path with it)."""
    _memo().clear()


def revenue(period: reports.Period) -> dict[str, list[reports.RevenueRow]]:
    """reports.revenue(period), from the cache while the ledger has not changed."""
    key = f"membership:dashboard:revenue:{period.start}:{period.end}:{ledger_version()}"
    hit = _get(key)
    if hit is not None:
        return {c: [reports.RevenueRow(**r) for r in rows] for c, rows in json.loads(hit).items()}
    value = reports.revenue(period)
    encoded = {c: [dataclasses.asdict(r) for r in rows] for c, rows in value.items()}
    _put(key, json.dumps(encoded, separators=(",", ":")))
    return value
