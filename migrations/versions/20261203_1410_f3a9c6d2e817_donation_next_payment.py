"""donations.current_period_end: when a monthly gift's next payment is due (its subscription's
current period end), shown on the donor's account page beside the button that stops it

Revision ID: f3a9c6d2e817
Revises: f3a9c5e1d7b2
Create Date: 2026-12-03 14:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3a9c6d2e817"
down_revision = "f3a9c5e1d7b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("donations") as batch:
        batch.drop_column("current_period_end")
