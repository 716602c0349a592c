"""stripe_events.next_attempt_at: when the worker retries a failed event

Revision ID: b6d1f0a3c7e2
Revises: e4a7c2b9d851
Create Date: 2026-11-28 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b6d1f0a3c7e2"
down_revision = "e4a7c2b9d851"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stripe_events") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stripe_events") as batch:
        batch.drop_column("next_attempt_at")
