"""cancellation that listens: cancellation_requests (the reason a reader gave on the cancel
page and what they chose: cancelled, paused, kept with the retention offer) and the pause of a
membership mirrored from Stripe's pause_collection (behavior, paused from, resumes at)

Revision ID: b8d4f2a6c9e3
Revises: d9c4a7e1f352
Create Date: 2026-12-04 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b8d4f2a6c9e3"
down_revision = "d9c4a7e1f352"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("pause_behavior", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("paused_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resumes_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "cancellation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("pause_months", sa.Integer(), nullable=True),
        sa.Column("coupon_id", sa.String(length=255), nullable=True),
        sa.Column("resumes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('cancelled', 'paused', 'kept_with_offer')",
            name=op.f("ck_cancellation_requests_outcome_known"),
        ),
        sa.CheckConstraint(
            "(outcome = 'paused') = (pause_months IS NOT NULL)",
            name=op.f("ck_cancellation_requests_pause_months_when_paused"),
        ),
        sa.CheckConstraint(
            "pause_months BETWEEN 1 AND 3",
            name=op.f("ck_cancellation_requests_pause_months_range"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_cancellation_requests_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cancellation_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancellation_requests")),
    )
    with op.batch_alter_table("cancellation_requests") as batch:
        batch.create_index("ix_cancellation_requests_created_at", ["created_at"])
        batch.create_index(batch.f("ix_cancellation_requests_membership_id"), ["membership_id"])
        batch.create_index(batch.f("ix_cancellation_requests_user_id"), ["user_id"])


def downgrade():
    op.drop_table("cancellation_requests")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("resumes_at")
        batch.drop_column("paused_from")
        batch.drop_column("pause_behavior")
