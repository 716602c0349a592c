"""Small database helpers shared by the domain modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from membership.extensions import db


def _insert_or_nothing(target, unique_column: str, values: dict[str, Any]):
    """INSERT … ON CONFLICT (unique_column) DO NOTHING, for PostgreSQL and SQLite."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(target).values(**values).on_conflict_do_nothing(index_elements=[unique_column])


def insert_ignoring_duplicates(model, unique_column: str, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new.

    Safe under concurrency: a second writer of the same key waits for the first and then does
    nothing, so retried and duplicated webhooks cannot write a row twice.
    """
    # The table, not the ORM entity: a Core insert skips the ORM's bulk-persistence layer.
    table = model.__table__
    statement = _insert_or_nothing(table, unique_column, values).returning(table.c[unique_column])
    # RETURNING, not rowcount: psycopg 3 with SQLAlchemy 2.1 reports rowcount -1 here.
    return db.session.execute(statement).first() is not None


def insert_new(model, unique_column: str, values: dict[str, Any]):
    """Like insert_ignoring_duplicates, returning the new ORM object (None when it existed)."""
    statement = _insert_or_nothing(model, unique_column, values).returning(model)
    return db.session.scalar(statement)
