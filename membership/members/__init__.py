"""Members in bulk: import from Ghost, Substack, Patreon or our CSV, export, and staff search."""

from __future__ import annotations

import sqlite3

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def init_app(app: Flask) -> None:
    """Add `flask members`, and SQLite's casefold() for searching names in any script."""
    from membership.members.cli import members_cli

    app.cli.add_command(members_cli)


def _casefold(value):
    """Python's casefold for SQLite, whose lower() knows only ASCII."""
    return value.casefold() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_connection, _record) -> None:
    """Every SQLite connection gets casefold(text) (PostgreSQL's ILIKE folds any script)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)
