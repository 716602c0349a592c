"""attributions: where members come from (the first touch at signup and at the first payment)

One row per account (its signup) or per membership (its first payment): utm_source, medium and
campaign, the article `ref`, the referring site's host and the landing path of the first visit
that carried any of them (membership/attribution.py). Written once, never updated.

Revision ID: d9c4a7e1f352
Revises: b4d8e2f6a913
Create Date: 2026-12-04 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d9c4a7e1f352"
down_revision = "b4d8e2f6a913"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("medium", sa.String(length=100), nullable=True),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("referrer", sa.String(length=253), nullable=True),
        sa.Column("landing", sa.String(length=200), nullable=True),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (membership_id IS NULL)",
            name=op.f("ck_attributions_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_attributions_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_attributions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attributions")),
        sa.UniqueConstraint("membership_id", name=op.f("uq_attributions_membership_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_attributions_user_id")),
    )
    with op.batch_alter_table("attributions") as batch:
        batch.create_index(batch.f("ix_attributions_source"), ["source"])


def downgrade():
    op.drop_table("attributions")
