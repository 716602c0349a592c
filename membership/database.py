"""Small database helpers shared by the domain modules."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite

from membership.extensions import db


def _insert_or_nothing(target, unique_column: str, values: dict[str, Any]):
    """INSERT … ON CONFLICT (unique_column) DO NOTHING, for PostgreSQL and SQLite."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(target).values(**values).on_conflict_do_nothing(index_elements=[unique_column])


@lru_cache(maxsize=64)
def _insert_returning_key(table, unique_column: str, columns: tuple[str, ...], dialect: str):
    """The statement of insert_ignoring_duplicates, built once per table, columns and dialect
    (values arrive as parameters, so SQLAlchemy's compiled cache serves every call)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values({name: bindparam(name, type_=table.c[name].type) for name in columns})
        .on_conflict_do_nothing(index_elements=[unique_column])
        .returning(table.c[unique_column])
    )


def insert_ignoring_duplicates(model, unique_column: str, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new.

    Safe under concurrency: a second writer of the same key waits for the first and then does
    nothing, so retried and duplicated webhooks cannot write a row twice.
    """
    # The table, not the ORM entity: a Core insert skips the ORM's bulk-persistence layer.
    dialect = db.session.get_bind().dialect.name
    statement = _insert_returning_key(model.__table__, unique_column, tuple(values), dialect)
    # RETURNING, not rowcount: psycopg 3 with SQLAlchemy 2.1 reports rowcount -1 here.
    return db.session.execute(statement, values).first() is not None


def insert_new(model, unique_column: str, values: dict[str, Any]):
    """Like insert_ignoring_duplicates, returning the new ORM object (None when it existed)."""
    statement = _insert_or_nothing(model, unique_column, values).returning(model)
    return db.session.scalar(statement)


class HotQuery:
    """A read statement compiled once for a dialect and run on a bare DBAPI cursor.

    For the few answers that run below Flask on every request (the access fast path): the
    statement is still written with SQLAlchemy, and its parameters still pass through the
    column types' bind processors, but each execution skips SQLAlchemy's per-call machinery
    (compiled-cache lookup, execution context, result wrapping). Rows come back as plain tuples
    of what the driver returns, so select only columns that need no result processing.
    """

    def __init__(self, statement, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.compiled = compiled
        self.order = compiled.positiontup if compiled.positional else None
        self.processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def parameters(self, values: dict[str, Any]):
        """The driver's parameters: every bound value (defaults included), processed."""
        params = self.compiled.construct_params(values)
        for name, processor in self.processors.items():
            params[name] = processor(params[name])
        if self.order is not None:
            return [params[name] for name in self.order]
        return params

    def rows(self, dbapi_connection, values: dict[str, Any]) -> list[tuple]:
        """Execute on a DBAPI connection; all rows as tuples."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(values))
            return cursor.fetchall()
        finally:
            cursor.close()
