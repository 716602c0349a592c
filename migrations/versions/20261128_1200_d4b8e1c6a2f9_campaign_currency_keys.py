"""campaigns(id, currency) referred to by donations and ledger rows: one currency per campaign

A campaign's currency cannot change once a gift or a payment refers to it, enforced by the
database (PostgreSQL checks the keys; SQLite, which this app runs without foreign-key checks,
relies on the staff form's own check).

Revision ID: d4b8e1c6a2f9
Revises: c9e2a4f1b7d3
Create Date: 2026-11-28 12:00:00

"""

from alembic import op

revision = "d4b8e1c6a2f9"
down_revision = "c9e2a4f1b7d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.create_unique_constraint("uq_campaigns_id_currency", ["id", "currency"])
    for table in ("donations", "ledger_entries"):
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"fk_{table}_campaign_currency",
                "campaigns",
                ["campaign_id", "currency"],
                ["id", "currency"],
            )


def downgrade():
    for table in ("ledger_entries", "donations"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_campaign_currency", type_="foreignkey")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint("uq_campaigns_id_currency", type_="unique")
