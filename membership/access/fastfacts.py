"""The database facts behind a fast access answer: the reader with the perks they hold now, the
perk the article needs, and whether a CMS's API key is active.

On SQLite each question reads them in one round trip (a UNION ALL compiled once per process,
membership/access/readers.py). On PostgreSQL they come from this thread's live cache as far as
it still knows them (membership/access/live.py: kept exact by the database's notifications),
else from the same statements. A revoked perk or API key is refused on the next question either
way. Each thread keeps its own DBAPI connection (in autocommit on
PostgreSQL, LISTENing for the notifications); a broken one is dropped and the next question
takes a fresh one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import event

from membership.access import api_keys, live, readers, services
from membership.access.fastwho import Who
from membership.access.services import Requirement
from membership.database import HotQuery

log = logging.getLogger(__name__)


class Facts:
    """Per process: the engine, every thread's connection, the statements compiled once."""

    def __init__(self, engine, use_live_cache: bool) -> None:
        self.engine = engine
        self.live = use_live_cache and engine.dialect.name == "postgresql"
        self.errors = engine.dialect.loaded_dbapi.Error
        self.local = threading.local()  # this thread's _ThreadState
        self.hot: dict = {}  # statement → HotQuery (a handful: one per number of values)
        self.held: list = []  # every connection this process holds
        event.listen(engine, "engine_disposed", lambda _engine: _release(self.held))

    def read(
        self, who: Who, article: str, tags: list[str], now: datetime
    ) -> tuple[tuple[int, list[str]] | None, Requirement, bool]:
        """(reader or None, requirement, whether the API key is active and needs no last-use
        mark now; True without a key)."""
        state = self._thread_state()
        try:
            if state.cache is None:
                return self._read(state, who, article, tags, now)
            return self._recall(state, who, article, tags, now)
        except Exception:
            self._drop(state)
            raise

    @staticmethod
    def _read(state: _ThreadState, who: Who, article, tags, now):
        """Everything from the database, in one round trip."""
        by, name = who.name if who.name is not None else (None, None)
        reader, requirement, _until, key_ok = readers.reader_and_requirement(
            by, name, article, tags, state.execute, now,
            key_hash=who.key_hash, marked_since=now - api_keys.MARK_USE_EVERY,
        )  # fmt: skip
        return reader, requirement, key_ok

    @staticmethod
    def _recall(state: _ThreadState, who: Who, article, tags, now):
        """From the live cache as far as it still knows them, else from the database."""
        cache = state.cache
        if cache.sync_needed:  # this process committed an access change: fetch its notification
            cache.sync_needed = False
            state.sync()
        state.drain()
        rules = cache.rules_table()
        if rules is None:
            before = cache.notifications
            rules = services.all_rules(state.execute, live.MAX_RULES)
            if rules is not None:
                cache.keep_rules(rules, before)
        reader = None
        if rules is None:  # too many to remember: this article's, from the database
            by, name = who.name if who.name is not None else (None, None)
            reader, requirement, _until, _key = readers.reader_and_requirement(
                by, name, article, tags, state.execute, now, boundary=True
            )
        else:
            requirement = services.requirement_in(rules, article, tags)
            if who.name is not None:
                reader = cache.reader(who.name, now)
                if reader is None:
                    before = cache.notifications
                    reader, until = readers.reader_until(*who.name, state.execute, now)
                    if reader is not None:
                        cache.keep_reader(who.name, reader, until, before)
        key_ok = True
        if who.key_hash is not None:
            known = cache.key(who.key_hash)
            if known is None:
                before = cache.notifications
                rows = state.execute(api_keys.KEY_STATE, {"key_hash": who.key_hash})
                if rows:
                    known = rows[0][0], rows[0][1]
                    cache.keep_key(who.key_hash, *known, before)
            last_used = known[1] if known is not None else None
            key_ok = last_used is not None and last_used >= now - api_keys.MARK_USE_EVERY
        return reader, requirement, key_ok

    def _thread_state(self) -> _ThreadState:
        """This thread's connection (checked out once and kept: a checkout and check-in per
        answer cost a third of the fast path) and, on PostgreSQL, its live cache."""
        state = getattr(self.local, "state", None)
        if state is not None and state.connection.dbapi_connection is not None:
            return state
        connection = self.engine.raw_connection()
        cache = None
        if self.engine.dialect.name == "postgresql":
            driver = connection.driver_connection
            driver.autocommit = True  # reads only: no BEGIN and ROLLBACK round trips
            if self.live:
                cache = live.LiveCache()
                driver.add_notify_handler(lambda notify: cache.notify(notify.payload))
                driver.execute(f"LISTEN {live.CHANNEL}")
        state = _ThreadState(connection, cache, self.hot, self.engine.dialect)
        self.local.state = state
        self.held.append(connection)
        return state

    def _drop(self, state: _ThreadState) -> None:
        """Forget a broken connection (and its cache); the next answer takes a fresh one."""
        self.local.state = None
        if state.connection in self.held:
            self.held.remove(state.connection)
        state.connection.invalidate()


class _ThreadState:
    """One thread's DBAPI connection, its compiled statements' runner and its live cache."""

    def __init__(self, connection, cache: live.LiveCache | None, hot: dict, dialect) -> None:
        self.connection = connection
        self.cache = cache
        self.hot = hot
        self.dialect = dialect

    def execute(self, statement, params) -> list[tuple]:
        """Run a statement compiled once per process (HotQuery) on this connection."""
        query = self.hot.get(statement)
        if query is None:
            query = self.hot[statement] = HotQuery(statement, self.dialect)
        return query.rows(self.connection.driver_connection, params)

    def sync(self) -> None:
        """One round trip: the server sends every notification pending for this connection
        before it answers, and the notify handler hands each to the cache."""
        self.connection.driver_connection.execute("SELECT 1")

    def drain(self) -> None:
        """Read the notifications that have arrived, without a round trip."""
        pgconn = self.connection.driver_connection.pgconn
        pgconn.consume_input()
        while (notify := pgconn.notifies()) is not None:
            self.cache.notify(notify.extra.decode())


def _release(held: list) -> None:
    """Close the held connections (their pool was just disposed of)."""
    while held:
        connection = held.pop()
        try:
            connection.invalidate()  # closes the DBAPI connection; nothing goes back to a pool
        except Exception:
            log.debug("access fast path: closing a connection failed", exc_info=True)
