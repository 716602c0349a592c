"""The database is what the migrations build, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from membership.extensions import db


def test_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        options = dict(app.extensions["migrate"].configure_args)
        context = MigrationContext.configure(conn, opts=options)
        diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"


def test_migration_file_names_are_date_prefixed(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        for revision in script.walk_revisions():
            name = revision.path.rsplit("/", 1)[-1]
            assert name[:8].isdigit() and name[8] == "_", name
