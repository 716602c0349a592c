"""gift memberships

Revision ID: 5d0c9e7b1a24
Revises: c4f1e2d8a6b0
Create Date: 2026-11-28 08:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5d0c9e7b1a24"
down_revision = "c4f1e2d8a6b0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gift_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("buyer_email", sa.String(length=254), nullable=False),
        sa.Column("recipient_email", sa.String(length=254), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("redeemed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_gift_memberships_amount_positive")),
        sa.CheckConstraint("months IN (3, 6, 12)", name=op.f("ck_gift_memberships_months_known")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["users.id"], name=op.f("fk_gift_memberships_buyer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_gift_memberships_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_id"], ["users.id"], name=op.f("fk_gift_memberships_redeemed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_memberships")),
        sa.UniqueConstraint("checkout_session_id", name=op.f("uq_gift_memberships_checkout_session_id")),
        sa.UniqueConstraint("code", name=op.f("uq_gift_memberships_code")),
    )
    with op.batch_alter_table("gift_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_memberships_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gift_memberships_payment_intent_id"), ["payment_intent_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("gift_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_memberships_payment_intent_id"))
        batch_op.drop_index(batch_op.f("ix_gift_memberships_status"))
    op.drop_table("gift_memberships")
