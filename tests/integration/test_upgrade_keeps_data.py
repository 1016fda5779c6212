"""`provider init` upgrades a database that holds data without losing any of it.

The database is built at the previous migration head (the down_revision of the
current head, read from the script directory when the test runs, so it follows
every new migration), every table of that schema gets rows (values generated
from the reflected column types: a table added later is covered without a change
here), then the real ``provider init`` upgrades it. Every row is still there,
with the same value in every column it had, and the schema is at the head.

Each table gets two rows: a sparse one (NULL in every nullable column) and a
full one (a value in every column), so that a migration that tightens a column
to NOT NULL without a backfill, rewrites or drops values, or drops a column or a
table fails here rather than on an operator's upgrade.
"""

from __future__ import annotations

from pathlib import Path

import flask_migrate
from click.testing import CliRunner
from sqlalchemy import (
    MetaData,
    create_engine,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from provider import create_app
from provider.cli import main
from provider.database import MIGRATIONS
from provider.extensions import db
from tests.support.every_table import (
    ALEMBIC_TABLE,
    alembic_versions,
    fill_every_table,
    primary_keys,
    revisions,
    snapshot,
)
from tests.support.settings import CHEAP_HASHING

# --- the database at the previous head ----------------------------------------------


def empty_database(database: str, database_url: str | None, tmp_path: Path) -> str:
    """The URL of an empty database: a new SQLite file, or the test's own PostgreSQL
    database (a copy of the migrated template) with its schema dropped."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / 'previous-head.db'}"
    assert database_url is not None
    engine: Engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return database_url


def test_init_upgrades_from_the_previous_head_and_keeps_every_row(
        database, database_url, instance, operator_environment, tmp_path):
    previous, head = revisions()
    url = empty_database(database, database_url, tmp_path)
    app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "DATABASE_URL": url,
                      **CHEAP_HASHING})
    try:
        with app.app_context():
            flask_migrate.upgrade(directory=str(MIGRATIONS), revision=previous)
            with db.engine.begin() as connection:
                assert alembic_versions(connection) == [previous]
                old = MetaData()
                old.reflect(bind=connection)
                assert set(old.tables) - {ALEMBIC_TABLE}, "the previous head has no tables"
                inserted = fill_every_table(connection, old, app.config["PROVIDER_KEK"])
            keys = primary_keys(old, inserted)
            with db.engine.connect() as connection:
                before = snapshot(connection, old, keys)
            empty = sorted(name for name, rows in before.items() if len(rows) != 2)
            assert not empty, f"tables without their two rows: {empty}"
            db.session.remove()
            db.engine.dispose()  # init finds the database as an operator would: idle

        result = CliRunner().invoke(main, ["init"], env={
            "PROVIDER_INSTANCE_PATH": str(instance), "DATABASE_URL": url})
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
        assert "database ready" in result.stdout

        with app.app_context(), db.engine.connect() as connection:
            assert alembic_versions(connection) == [head]
            new = MetaData()
            new.reflect(bind=connection)
            after = snapshot(connection, new, keys)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    lost = {name: sorted(set(rows) - set(after[name]), key=repr)
            for name, rows in before.items() if set(rows) - set(after[name])}
    assert not lost, f"rows gone after the upgrade (table: primary keys): {lost}"
    changed = {
        f"{name}{key}.{column}": (value, after[name][key].get(column, "<column gone>"))
        for name, rows in before.items() for key, row in rows.items()
        for column, value in row.items() if after[name][key].get(column, object()) != value}
    assert not changed, f"values changed by the upgrade (before, after): {changed}"
