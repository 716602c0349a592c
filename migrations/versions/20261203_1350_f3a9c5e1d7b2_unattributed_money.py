"""unattributed_money: money Stripe reported that no total counts (listed for staff)

Refunds and lost disputes of charges the app never sold, and payments in another currency than
their campaign or gift, are kept out of the ledger and listed here.

Revision ID: f3a9c5e1d7b2
Revises: d4b8e1c6a2f9
Create Date: 2026-12-03 13:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3a9c5e1d7b2"
down_revision = "d4b8e1c6a2f9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unattributed_money",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_object_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unattributed_money")),
        sa.UniqueConstraint(
            "stripe_object_id", name=op.f("uq_unattributed_money_stripe_object_id")
        ),
    )
    with op.batch_alter_table("unattributed_money") as batch:
        batch.create_index(
            batch.f("ix_unattributed_money_occurred_at"), ["occurred_at"], unique=False
        )
        batch.create_index(
            batch.f("ix_unattributed_money_payment_intent_id"), ["payment_intent_id"], unique=False
        )


def downgrade():
    op.drop_table("unattributed_money")
