"""Access facts remembered between questions, kept exact by PostgreSQL's LISTEN/NOTIFY.

The access fast path asks the database up to three things: who the reader is with their active
perks (named by a session id, by the id an access token or an API key's `member=` gives, or by
an API key's `email=`), which perk an article needs, and whether a CMS's API key is active. On
PostgreSQL it remembers, per connection, the readers and keys it was asked about and the whole
table of rules (any article's requirement is then worked out here; with more than MAX_RULES
rules they are read per question). Its connection LISTENs on CHANNEL, and triggers (migrations
c9e2a4f1b7d3, e7b3d9a2c5f1) NOTIFY on every change that could alter an answer:

- `u:<user id>` when a perk grant of that reader is added, changed or removed, or the reader's
  session id, e-mail address or deletion changes (password change, sign-out everywhere, a new
  address, account deletion);
- `k` when any API key changes (created, revoked, its hourly last-use mark);
- `*` when any access rule or perk changes.

PostgreSQL delivers a notification to every listening connection when the changing transaction
commits. Each question first reads whatever notifications have arrived (a non-blocking read of
the socket, no round trip) and forgets what they touch, so an answer from here is the database's
answer except for the moment between another process's commit and its notification's arrival
(microseconds on one host, longer on a loaded one). This process's own commits are never in that
moment: a session whose flush touched one of the WATCHED_TABLES marks every cache of the process
when it commits, and each marked cache makes one round trip before its next answer, which brings
every notification of what was committed before it (PostgreSQL sends a listening connection its
pending notifications before it runs the next statement). So a perk that staff or a webhook
handler of this process revoked is refused by this process's very next answer.

A fact is also forgotten when the reader's next grant starts, ends
or is revoked (the database tells the time with the reader), and after MAX_AGE seconds at most.
A fact read while any notification arrived is not kept (it may predate the change). A lost
connection loses the cache with it. SQLite has no NOTIFY: there every question reads.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "membership_access"
MAX_AGE = 60.0  # seconds: a bound for anything the triggers would not see (manual SQL, say)
MAX_ENTRIES = 10_000  # readers remembered per connection
MAX_RULES = 5_000  # more rules than this are read per question instead
# The tables whose triggers NOTIFY: a local commit that touched any of them syncs every cache.
WATCHED_TABLES = frozenset({"perk_grants", "users", "access_rules", "perks", "api_keys"})

_caches: weakref.WeakSet[LiveCache] = weakref.WeakSet()
_caches_lock = threading.Lock()


@dataclass(frozen=True)
class _Reader:
    user_id: int
    perks: list[str]
    valid_until: datetime | None  # the reader's next grant boundary, if any
    generation: int
    user_generation: int
    stored: float


@dataclass(frozen=True)
class _Key:
    key_id: int
    last_used_at: datetime | None
    generation: int
    stored: float


@dataclass(frozen=True)
class _Rules:
    table: dict  # {(kind, value): perk slug or None}: services.all_rules
    generation: int
    stored: float


class LiveCache:
    """One connection's cache: readers by how they were named (("session", id), ("id", user
    id), ("email", address)), API keys by their hash, and the table of rules."""

    def __init__(self) -> None:
        self.generation = 0  # bumped by "*": every rule and reader
        self.user_generations: dict[int, int] = {}
        self.key_generation = 0  # bumped by "k" (and "*"): every key
        self.notifications = 0  # every notification: facts read across one are not kept
        self.readers: dict[tuple, _Reader] = {}
        self.keys: dict[str, _Key] = {}
        self.rules: _Rules | None = None
        self.sync_needed = False  # set from any thread by a local commit (see the module doc)
        with _caches_lock:
            _caches.add(self)

    def notify(self, payload: str) -> None:
        """Forget what a change touches."""
        self.notifications += 1
        kind, _sep, value = payload.partition(":")
        if kind == "u" and value.isdigit():
            user_id = int(value)
            self.user_generations[user_id] = self.user_generations.get(user_id, 0) + 1
        elif kind == "k":
            self.key_generation += 1
            self.keys.clear()
        else:
            self.generation += 1
            self.key_generation += 1
            self.readers.clear()
            self.keys.clear()
            self.rules = None

    def reader(self, name: tuple, now: datetime) -> tuple[int, list[str]] | None:
        """(user id, perks) of a reader named so, when still known to be current."""
        entry = self.readers.get(name)
        if (
            entry is None
            or entry.generation != self.generation
            or entry.user_generation != self.user_generations.get(entry.user_id, 0)
            or (entry.valid_until is not None and now >= entry.valid_until)
            or time.monotonic() - entry.stored > MAX_AGE
        ):
            return None
        return entry.user_id, entry.perks

    def rules_table(self) -> dict | None:
        """Every rule, when still known to be current."""
        entry = self.rules
        if (
            entry is None
            or entry.generation != self.generation
            or time.monotonic() - entry.stored > MAX_AGE
        ):
            return None
        return entry.table

    def key(self, key_hash: str) -> tuple[int, datetime | None] | None:
        """(key id, last use) of an active API key, when still known to be current."""
        entry = self.keys.get(key_hash)
        if (
            entry is None
            or entry.generation != self.key_generation
            or time.monotonic() - entry.stored > MAX_AGE
        ):
            return None
        return entry.key_id, entry.last_used_at

    def keep_key(
        self,
        key_hash: str,
        key_id: int,
        last_used_at: datetime | None,
        notifications_before: int,
    ) -> None:
        """Remember an active key, unless a notification arrived while it was read."""
        if self.notifications != notifications_before:
            return
        if len(self.keys) >= MAX_ENTRIES:
            self.keys.clear()
        self.keys[key_hash] = _Key(key_id, last_used_at, self.key_generation, time.monotonic())

    def keep_reader(
        self,
        name: tuple,
        reader: tuple[int, list[str]],
        valid_until: datetime | None,
        notifications_before: int,
    ) -> None:
        """Remember a reader, unless a notification arrived while it was read."""
        if self.notifications != notifications_before:
            return
        if len(self.readers) >= MAX_ENTRIES:
            self.readers.clear()
        user_id, perks = reader
        self.readers[name] = _Reader(
            user_id,
            perks,
            valid_until,
            self.generation,
            self.user_generations.get(user_id, 0),
            time.monotonic(),
        )

    def keep_rules(self, table: dict, notifications_before: int) -> None:
        """Remember the rules, unless a notification arrived while they were read."""
        if self.notifications == notifications_before:
            self.rules = _Rules(table, self.generation, time.monotonic())


def _touches_access(session: Session) -> bool:
    """Whether the session is about to write a row of a watched table."""
    for instance in itertools.chain(session.new, session.dirty, session.deleted):
        if getattr(instance, "__tablename__", None) in WATCHED_TABLES:
            return True
    return False


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    if _touches_access(session):
        session.info["access_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """An UPDATE or DELETE statement through the ORM on a watched table counts too."""
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) in WATCHED_TABLES:
        state.session.info["access_changed"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("access_changed", False):
        with _caches_lock:
            caches = list(_caches)
        for cache in caches:
            cache.sync_needed = True


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("access_changed", None)
