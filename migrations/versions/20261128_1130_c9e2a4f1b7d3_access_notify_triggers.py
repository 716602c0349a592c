"""access: NOTIFY membership_access on changes to grants, readers' sessions, rules and perks

The access fast path remembers answers per connection and forgets them when these arrive
(membership/access/live.py). PostgreSQL only; SQLite has no NOTIFY, and there nothing is
remembered.

Revision ID: c9e2a4f1b7d3
Revises: b6d1f0a3c7e2
Create Date: 2026-11-28 11:30:00

"""

from alembic import op

revision = "c9e2a4f1b7d3"
down_revision = "b6d1f0a3c7e2"
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE FUNCTION membership_access_reader_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('membership_access', 'u:' || OLD.{column});
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('membership_access', 'u:' || NEW.{column});
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        FUNCTIONS.replace("membership_access_reader_changed", "membership_access_grant_changed")
        .replace("{column}", "user_id")
    )
    op.execute(FUNCTIONS.replace("{column}", "id"))
    op.execute("""
        CREATE FUNCTION membership_access_all_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('membership_access', '*');
            RETURN NULL;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER membership_access_grants AFTER INSERT OR UPDATE OR DELETE ON perk_grants
        FOR EACH ROW EXECUTE FUNCTION membership_access_grant_changed()
    """)
    op.execute("""
        CREATE TRIGGER membership_access_readers AFTER UPDATE OF session_token, deleted_at
        OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION membership_access_reader_changed()
    """)
    for table in ("access_rules", "perks"):
        op.execute(f"""
            CREATE TRIGGER membership_access_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON {table} FOR EACH STATEMENT EXECUTE FUNCTION membership_access_all_changed()
        """)
    op.execute("""
        CREATE TRIGGER membership_access_grants_truncate AFTER TRUNCATE ON perk_grants
        FOR EACH STATEMENT EXECUTE FUNCTION membership_access_all_changed()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER membership_access_grants_truncate ON perk_grants")
    for table in ("access_rules", "perks"):
        op.execute(f"DROP TRIGGER membership_access_{table} ON {table}")
    op.execute("DROP TRIGGER membership_access_readers ON users")
    op.execute("DROP TRIGGER membership_access_grants ON perk_grants")
    op.execute("DROP FUNCTION membership_access_all_changed()")
    op.execute("DROP FUNCTION membership_access_reader_changed()")
    op.execute("DROP FUNCTION membership_access_grant_changed()")
