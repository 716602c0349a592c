"""ledger_entries: extended statistics on the UTC month, for the revenue-by-month plan

Revision ID: e4a7c2b9d851
Revises: 8b2e6f4a9c13
Create Date: 2026-11-28 10:20:00

PostgreSQL guesses tens of thousands of (month, currency, kind) groups where there are a few dozen,
and sorts half the ledger on disk; with statistics on the expression it hashes them in memory.
Statistics objects are PostgreSQL's own: nothing to do on SQLite.
"""

from alembic import op

revision = "e4a7c2b9d851"
down_revision = "8b2e6f4a9c13"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_ledger_entries_month "
        "ON (date_trunc('month', timezone('UTC', occurred_at))), currency, kind "
        "FROM ledger_entries"
    )
    op.execute("ANALYZE ledger_entries")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP STATISTICS IF EXISTS st_ledger_entries_month")
