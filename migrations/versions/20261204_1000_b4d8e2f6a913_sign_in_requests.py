"""accounts: sign_in_requests (sign-in by e-mail: a single-use link and a 6-digit code per
request, stored as hashes, valid 15 minutes; joining with an e-mail address only)

Revision ID: b4d8e2f6a913
Revises: e7b3d9a2c5f1
Create Date: 2026-12-04 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4d8e2f6a913"
down_revision = "e7b3d9a2c5f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("next_url", sa.String(length=2000), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_requests_token_hash")),
    )
    with op.batch_alter_table("sign_in_requests") as batch:
        batch.create_index(batch.f("ix_sign_in_requests_email"), ["email"])
        batch.create_index(batch.f("ix_sign_in_requests_expires_at"), ["expires_at"])
        batch.create_index(batch.f("ix_sign_in_requests_user_id"), ["user_id"])


def downgrade():
    op.drop_table("sign_in_requests")
