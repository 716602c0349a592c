"""payment recovery: payment_recoveries (one row per failed renewal invoice and its outcome)
and recovery_notices (the schedule of its mails, sent by `flask worker` or
`flask dunning send-due`)

Revision ID: c5e2a8d4f1b6
Revises: a1f7c3e9b5d2
Create Date: 2026-12-03 18:17:23

"""

import sqlalchemy as sa
from alembic import op

revision = "c5e2a8d4f1b6"
down_revision = "a1f7c3e9b5d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=255), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_due", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grace_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_recovered", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('failing', 'recovered', 'lost')",
            name=op.f("ck_payment_recoveries_status_known"),
        ),
        sa.CheckConstraint(
            "amount_due >= 0 AND amount_recovered >= 0",
            name=op.f("ck_payment_recoveries_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_payment_recoveries_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_payment_recoveries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_recoveries")),
        sa.UniqueConstraint(
            "stripe_invoice_id", name=op.f("uq_payment_recoveries_stripe_invoice_id")
        ),
    )
    with op.batch_alter_table("payment_recoveries") as batch:
        batch.create_index(batch.f("ix_payment_recoveries_failed_at"), ["failed_at"])
        batch.create_index(batch.f("ix_payment_recoveries_membership_id"), ["membership_id"])
        batch.create_index(batch.f("ix_payment_recoveries_status"), ["status"])
        batch.create_index(batch.f("ix_payment_recoveries_user_id"), ["user_id"])

    op.create_table(
        "recovery_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("recovery_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('failed', 'reminder', 'last_notice')",
            name=op.f("ck_recovery_notices_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'cancelled', 'skipped')",
            name=op.f("ck_recovery_notices_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["recovery_id"],
            ["payment_recoveries.id"],
            name=op.f("fk_recovery_notices_recovery_id_payment_recoveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_recovery_notices_key")),
    )
    with op.batch_alter_table("recovery_notices") as batch:
        batch.create_index(batch.f("ix_recovery_notices_recovery_id"), ["recovery_id"])
        batch.create_index("ix_recovery_notices_status_due", ["status", "due_at"])


def downgrade():
    op.drop_table("recovery_notices")
    op.drop_table("payment_recoveries")
