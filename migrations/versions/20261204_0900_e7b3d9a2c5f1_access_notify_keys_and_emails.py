"""access: NOTIFY membership_access when API keys or readers' e-mail addresses change

The access fast path now also remembers, per connection, the CMS API keys it was shown and the
readers an API key asked about by e-mail (membership/access/live.py). It forgets the keys on
`k` (any change to api_keys: a new key, a revocation, the hourly last-use mark) and a reader on
`u:<id>`, which now fires on a change of address too. PostgreSQL only.

Revision ID: e7b3d9a2c5f1
Revises: c5e2a8d4f1b6
Create Date: 2026-12-04 09:00:00

"""

from alembic import op

revision = "e7b3d9a2c5f1"
down_revision = "c5e2a8d4f1b6"
branch_labels = None
depends_on = None

READERS = """
    CREATE TRIGGER membership_access_readers AFTER UPDATE OF {columns}
    OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION membership_access_reader_changed()
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER membership_access_readers ON users")
    op.execute(READERS.format(columns="session_token, deleted_at, email"))
    op.execute("""
        CREATE FUNCTION membership_access_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('membership_access', 'k');
            RETURN NULL;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER membership_access_api_keys AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION membership_access_keys_changed()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER membership_access_api_keys ON api_keys")
    op.execute("DROP FUNCTION membership_access_keys_changed()")
    op.execute("DROP TRIGGER membership_access_readers ON users")
    op.execute(READERS.format(columns="session_token, deleted_at"))
