"""memberships.recurring_amount: what a renewal charges after coupons (the base of MRR)

Revision ID: 7c3e5a9d1f20
Revises: f3a9c6d2e817
Create Date: 2026-12-03 14:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c3e5a9d1f20"
down_revision = "f3a9c6d2e817"
branch_labels = None
depends_on = None


def upgrade():
    # Empty until each membership's next sync reads its discounts: it counts as `amount` then.
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(sa.Column("recurring_amount", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_column("recurring_amount")
