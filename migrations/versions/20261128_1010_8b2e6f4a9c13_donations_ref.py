"""donations.ref: the article a gift came from

Revision ID: 8b2e6f4a9c13
Revises: 5d0c9e7b1a24
Create Date: 2026-11-28 10:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "8b2e6f4a9c13"
down_revision = "5d0c9e7b1a24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("donations") as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("donations") as batch_op:
        batch_op.drop_column("ref")
