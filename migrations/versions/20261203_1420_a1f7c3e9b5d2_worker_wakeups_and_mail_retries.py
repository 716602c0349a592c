"""worker wake-ups (NOTIFY membership_events) and mail_jobs.next_attempt_at

An idle `flask worker` LISTENs on membership_events instead of polling; this trigger NOTIFYs it
when a Stripe event becomes due (stored as received, or a failed one made due again by Stripe's
redelivery). PostgreSQL only; on SQLite the worker polls. A failed mail job remembers when the
worker's sweep retries it.

Revision ID: a1f7c3e9b5d2
Revises: 7c3e5a9d1f20
Create Date: 2026-12-03 14:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a1f7c3e9b5d2"
down_revision = "7c3e5a9d1f20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mail_jobs") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION membership_events_due() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('membership_events', '');
            RETURN NULL;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER membership_events_received AFTER INSERT ON stripe_events
        FOR EACH ROW WHEN (NEW.status = 'received') EXECUTE FUNCTION membership_events_due()
    """)
    op.execute("""
        CREATE TRIGGER membership_events_retried AFTER UPDATE OF next_attempt_at ON stripe_events
        FOR EACH ROW WHEN (NEW.status = 'failed' AND NEW.next_attempt_at IS NOT NULL
                           AND NEW.next_attempt_at <= now())
        EXECUTE FUNCTION membership_events_due()
    """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER membership_events_retried ON stripe_events")
        op.execute("DROP TRIGGER membership_events_received ON stripe_events")
        op.execute("DROP FUNCTION membership_events_due()")
    with op.batch_alter_table("mail_jobs") as batch:
        batch.drop_column("next_attempt_at")
