"""The whole installation, row for row, into another, empty database (off SQLite).

Every table of the schema is copied as it is stored: signing keys stay encrypted
under the same key-encryption key and digests stay digests, so every session,
refresh token and key carries on against the target with the same instance folder.
Leases are the one exception: they name processes of the source, and the target's
servers take their own.

The source is read in one transaction (one snapshot: a row and the rows it refers to
agree), the target written in one (a failure leaves it without rows), parents before
children, a batch of rows at a time (a large table is never held in memory whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import Migrate
from sqlalchemy import Connection, Engine, Table, false, func, inspect, literal, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from .. import clock
from ..config.database import engine_options
from ..database import IMMEDIATE, MIGRATIONS, UnstorableText, advisory_lock_key, configure_engine
from ..extensions import db
from ..models import Lease
from .errors import ManagementError

BATCH_ROWS = 1000
DROPPED_TABLES = (Lease.__tablename__,)
ALEMBIC_TABLE = "alembic_version"
NOT_EMPTY = "the target database is not empty"


@dataclass(frozen=True)
class CopyReport:
    """What was copied: the tables in copy order with their rows, and the revision."""

    revision: str
    tables: list[tuple[str, int]]
    dropped: tuple[str, ...] = DROPPED_TABLES


def display_url(url: str | URL) -> str:
    """``url`` without its password or query (libpq takes a password there too): the
    form that may be printed, since terminals and logs keep what they are shown."""
    return make_url(url).set(query={}).render_as_string(hide_password=True)


def copied_tables() -> list[Table]:
    """Every table of the schema but the dropped ones, parents before children. Taken
    from the models' metadata, so a table added later is copied without a change here."""
    return [table for table in db.metadata.sorted_tables if table.name not in DROPPED_TABLES]


def copy_database(target_url: str) -> CopyReport:
    """Copy the current app's database into the empty database at ``target_url``
    (a SQLAlchemy URL), migrating it to the head first; refuses a target that holds
    anything, and a source that a running server holds a lease on."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the migrations have no head"
    tables = copied_tables()
    source_engine = db.engine
    with _target_database(target_url) as (target_app, target_engine):
        _refuse_unready_target(target_engine, head)  # before the target sees a write
        with _snapshot(source_engine) as source:
            _refuse_stale_source(source, head)
            _refuse_live_leases(source)
            _migrate(target_app)
            with _writing(target_engine) as target:
                _refuse_rows(target)  # again, now that no other copy can write
                copied = [(table, _copy_table(source, target, table)) for table in tables]
                _reset_sequences(target, tables)
                _verify_counts(source, target, copied)
    return CopyReport(head, [(table.name, rows) for table, rows in copied])


@contextmanager
def _target_database(url: str) -> Iterator[tuple[Flask, Engine]]:
    """A bare app on the target and its engine. Flask-Migrate (``migrations/env.py``)
    migrates the current app's engine, so the target needs an app of its own; it has
    the source's settings (pool, deadlines, SQLite's pragmas), and no blueprints or
    secrets, since nothing is served from it."""
    app = Flask(__name__)
    app.config.update(current_app.config)
    app.config.update(DATABASE_URL=url, SQLALCHEMY_DATABASE_URI=url)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS))
    with app.app_context():
        configure_engine(app)
        engine = db.engine
    try:
        yield app, engine
    finally:
        engine.dispose()


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction on the source. SQLite's BEGIN (WAL mode) reads one
    snapshot from its first read to its end; PostgreSQL's default, READ COMMITTED,
    takes a new one per statement, so REPEATABLE READ, read only."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ",
                                         postgresql_readonly=True)
        with connection.begin():
            _lift_deadlines(connection)
            yield connection


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """One writing transaction on the target: committed whole or rolled back whole.
    SQLite takes its write lock up front (BEGIN IMMEDIATE); on PostgreSQL an advisory
    lock keeps a second copy into the same database out until this one has ended."""
    with engine.connect() as connection:
        connection.execution_options(**{IMMEDIATE: True})
        with connection.begin():
            _lift_deadlines(connection)
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": advisory_lock_key("database-copy")})
            yield connection


def _lift_deadlines(connection: Connection) -> None:
    """A copy reads and writes whole tables, and each side's transaction idles while
    the other works: the deadlines made for requests (PostgreSQL) would end it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))


def _refuse_unready_target(engine: Engine, head: str) -> None:
    """Refuse a target with any table but an empty schema at ``head``: the copy never
    adds to, or migrates, a database that holds something."""
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        if not present:
            return
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision != head:
            raise ManagementError(
                f"{NOT_EMPTY}: it has tables, at schema revision {revision or 'none'} "
                f"(not {head}); copy into an empty database")
        unknown = sorted(present - set(db.metadata.tables) - {ALEMBIC_TABLE})
        if unknown:
            raise ManagementError(f"{NOT_EMPTY}: it has tables that are not the "
                                  f"provider's ({', '.join(unknown)})")
        _refuse_rows(connection)


def _refuse_rows(connection: Connection) -> None:
    """Refuse a target with a row in any table of the schema, leases included."""
    for table in db.metadata.sorted_tables:
        if connection.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
            raise ManagementError(f"{NOT_EMPTY}: table {table.name} has rows; "
                                  "copy into an empty database")


def _refuse_stale_source(source: Connection, head: str) -> None:
    """The copy reads the source with the current models: an older schema lacks columns."""
    revision = MigrationContext.configure(source).get_current_revision()
    if revision != head:
        raise ManagementError(f"the source database is at schema revision "
                              f"{revision or 'none'}, not {head}: run `provider init` first")


def _refuse_live_leases(source: Connection) -> None:
    """A running server still writes to the source: what it writes after the snapshot
    would be lost. A server releases its leases when it stops; one that crashed
    leaves them to run out."""
    now = clock.now()
    held = source.execute(
        select(Lease.name, Lease.holder, Lease.expires_at)
        .where(Lease.holder.is_not(None), Lease.expires_at > now).order_by(Lease.name)
    ).first()
    if held is not None:
        raise ManagementError(
            f"a `provider serve` holds the lease {held.name!r} on the source database "
            f"({held.holder}, for {held.expires_at - now} s more): stop every server "
            "first (a server that crashed leaves its leases to run out)")


def _migrate(app: Flask) -> None:
    """Bring the target to the head, as ``provider init`` would, with the project's
    own migrations, so its schema is the one the provider makes (triggers, sequences)."""
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS))


def _copy_table(source: Connection, target: Connection, table: Table) -> int:
    """Stream ``table`` into the target, ``BATCH_ROWS`` rows at a time, in primary-key
    order; the rows are the stored values (JSON, bytes, digests) with Core, never
    models, so nothing is decoded or re-derived. Returns the rows copied."""
    copied = 0
    query = select(table).order_by(*table.primary_key.columns)
    try:
        result = source.execute(query.execution_options(yield_per=BATCH_ROWS))
        for batch in result.mappings().partitions():
            target.execute(table.insert(), [dict(row) for row in batch])
            copied += len(batch)
    except UnstorableText:
        raise ManagementError(f"copying table {table.name} failed: a value holds a NUL "
                              "character, which PostgreSQL cannot store; the target is "
                              "left without rows") from None
    except SQLAlchemyError as exc:
        raise ManagementError(f"copying table {table.name} failed: {_first_line(exc)}; "
                              "the target is left without rows") from None
    return copied


def _reset_sequences(target: Connection, tables: list[Table]) -> None:
    """Start each id sequence past the highest copied id. PostgreSQL hands out ids
    from a sequence, which rows inserted with their ids never advance, so the next
    row would collide; SQLite takes the highest rowid plus one by itself."""
    if target.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        # setval is strict: a column without a sequence (NULL) is left alone
        target.execute(select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1,
                                          false())).select_from(table))


def _verify_counts(source: Connection, target: Connection,
                   copied: list[tuple[Table, int]]) -> None:
    """Each table holds as many rows in the target, before the commit, as in the
    snapshot of the source: a mismatch rolls the whole copy back."""
    for table, rows in copied:
        in_source = source.scalar(select(func.count()).select_from(table))
        in_target = target.scalar(select(func.count()).select_from(table))
        if not in_source == in_target == rows:
            raise ManagementError(
                f"table {table.name} has {in_source} rows in the source and {in_target} "
                f"in the target after copying {rows}; the target is left without rows")


def _first_line(exc: Exception) -> str:
    """``Type: first line`` of a database error (later lines hold SQL and values)."""
    line = next(iter(str(exc).splitlines()), "")
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__
