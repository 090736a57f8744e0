"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode for
SQLite (set in app.py), and our UTC datetime type written as the plain column type it is."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")
migrate_ext = current_app.extensions["migrate"]


def render_item(type_, obj, autogen_context):
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    from search import is_search_object  # FTS tables and trigram indexes live outside the models

    return not (reflected and is_search_object(name))


def skip_empty_revision(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def run_migrations_online():
    options = dict(migrate_ext.configure_args)
    options.setdefault("process_revision_directives", skip_empty_revision)
    options.setdefault("render_item", render_item)
    options.setdefault("include_object", include_object)
    with migrate_ext.db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=migrate_ext.db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `flask --app app db upgrade`.")
run_migrations_online()
