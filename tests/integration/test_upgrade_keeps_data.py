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

import datetime
import decimal
import json
import uuid
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from joserfc.jwk import OKPKey
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Time,
    Uuid,
    and_,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from provider import create_app
from provider.cli import main
from provider.database import MIGRATIONS
from provider.extensions import db
from provider.keys.encryption import encrypt_private_key
from tests.support.settings import CHEAP_HASHING

ALEMBIC_TABLE = "alembic_version"
SPARSE, FULL = 0, 1  # the two rows each table gets, in this order
EPOCH = 1_700_000_000  # "now" for generated numbers; any + counter stays below 2**31 - 1

Row = dict[str, Any]
Snapshot = dict[str, dict[tuple, Row]]


def revisions() -> tuple[str, str]:
    """(previous head, head) of the migrations as they are in the tree now."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()  # raises if the migrations have several heads
    assert head is not None, "no migrations"
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), (
        f"head {head} has down_revision {previous!r}: this test upgrades from one "
        "previous revision (teach it about a merge revision if one is added)")
    return previous, head


# --- the generator ------------------------------------------------------------------


class Values:
    """Plausible values by column type. Numbers, strings, bytes, UUIDs and times carry
    a counter, so no two are equal and unique constraints (of one column or several)
    hold; booleans and enums cannot, and a unique constraint on one of them alone
    fails the fill, loudly."""

    def __init__(self) -> None:
        self.counter = 0

    def __call__(self, table: Table, column: Column) -> Any:
        self.counter += 1
        k = self.counter
        kind = column.type
        # the order matters: Enum is a String, BigInteger an Integer, JSONB a JSON...
        if isinstance(kind, Boolean):
            return k % 2 == 0
        if isinstance(kind, SmallInteger):
            return k % 32_000
        if isinstance(kind, Integer):  # epoch seconds are the integers most columns hold
            return EPOCH + k
        if isinstance(kind, Numeric | Float):
            value = k + 0.5
            return decimal.Decimal(str(value)) if getattr(kind, "asdecimal", False) else value
        if isinstance(kind, LargeBinary):
            return f"{table.name}.{column.name} {k}".encode() + bytes([0, 255, k % 256])
        if isinstance(kind, JSON):
            return {"column": column.name, "n": k, "items": [f"item-{k}", k, True]}
        if isinstance(kind, Enum):
            return kind.enums[k % len(kind.enums)]
        if isinstance(kind, Uuid):
            value = uuid.UUID(int=k)
            return value if kind.as_uuid else str(value)
        if isinstance(kind, String):
            return _fit(f"{column.name}-", str(k), kind.length)
        if isinstance(kind, DateTime):
            tz = datetime.UTC if kind.timezone else None
            return datetime.datetime(2024, 1, 1, tzinfo=tz) + datetime.timedelta(seconds=k)
        if isinstance(kind, Date):
            return datetime.date(2024, 1, 1) + datetime.timedelta(days=k)
        if isinstance(kind, Time):
            return datetime.time(k % 24, k % 60, k % 60)
        if isinstance(kind, Interval):
            return datetime.timedelta(seconds=k)
        pytest.fail(f"{table.name}.{column.name} has type {kind!r}, which this test cannot "
                    "fill yet: add a case for it in Values", pytrace=False)


def _fit(prefix: str, suffix: str, length: int | None) -> str:
    """``prefix + suffix`` cut to ``length``, keeping the (unique) suffix whole."""
    if length is None or len(prefix) + len(suffix) <= length:
        return prefix + suffix
    assert len(suffix) <= length, f"the counter {suffix} does not fit in {length} characters"
    return prefix[:length - len(suffix)] + suffix


def _omitted(table: Table, column: Column, dialect: str) -> bool:
    """Columns the database fills itself: generated ones and autoincrement keys."""
    if column.computed is not None:
        return True
    if column is not table.autoincrement_column:
        return False
    return (dialect == "sqlite" or column.server_default is not None
            or column.identity is not None)


def _signing_key(row: Row, kek: bytes) -> None:
    """The one table ``provider init`` reads: every stored private key must open under
    the instance's key-encryption key (with the kid as associated data), so the row
    holds a real, retired Ed25519 key; init leaves retired keys alone."""
    key = OKPKey.generate_key("Ed25519", private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "EdDSA"}
    private = json.dumps({**key.as_dict(private=True), "kid": kid, "alg": "EdDSA"}).encode()
    fixed = {"kid": kid, "alg": "EdDSA", "state": "retired", "public_jwk": public,
             "private_jwk_encrypted": encrypt_private_key(kek, kid, private)}
    row.update({name: value for name, value in fixed.items() if name in row})


# table -> what makes a generated row one the app can live with
MEANINGFUL = {"signing_keys": _signing_key}


def make_row(table: Table, which: int, inserted: dict[str, list[Row]], values: Values,
             dialect: str) -> Row:
    row: Row = {}
    for column in table.columns:
        if _omitted(table, column, dialect):
            continue
        row[column.name] = None if which == SPARSE and column.nullable else values(table,
                                                                                    column)
    for constraint in table.foreign_key_constraints:
        referred = constraint.referred_table
        if referred is table:  # the full row points at the sparse one
            parent = inserted[table.name][SPARSE] if which == FULL else None
        else:
            parents = inserted.get(referred.name)
            assert parents, f"{table.name} refers to {referred.name}, which has no rows yet"
            parent = parents[which % len(parents)]
        for column, element in zip(constraint.columns, constraint.elements, strict=True):
            if parent is None:
                assert column.nullable, (f"{table.name}.{column.name} refers to its own "
                                         "table and is NOT NULL: the first row cannot exist")
                row[column.name] = None
            elif which == SPARSE and column.nullable:
                row[column.name] = None
            else:
                row[column.name] = parent[element.column.name]
    return row


def fill_every_table(connection: Connection, metadata: MetaData, kek: bytes) -> dict[str,
                                                                                    list[Row]]:
    """Two rows in every table, parents first; the rows as inserted, keys included."""
    values, inserted = Values(), {}
    dialect = connection.dialect.name
    for table in metadata.sorted_tables:
        if table.name == ALEMBIC_TABLE:
            continue
        inserted[table.name] = []
        for which in (SPARSE, FULL):
            row = make_row(table, which, inserted, values, dialect)
            if table.name in MEANINGFUL:
                MEANINGFUL[table.name](row, kek)
            try:
                result = connection.execute(table.insert().values(row))
            except Exception as error:
                pytest.fail(f"could not fill table {table.name} with {row!r}: {error}",
                            pytrace=False)
            key = dict(zip((c.name for c in table.primary_key.columns),
                           result.inserted_primary_key or (), strict=False))
            inserted[table.name].append({**row, **key})
    return inserted


# --- reading it back ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def snapshot(connection: Connection, metadata: MetaData, keys: dict[str, list[tuple]]
             ) -> Snapshot:
    """The stored rows with the given primary keys, by table and key."""
    stored: Snapshot = {}
    for name, wanted in keys.items():
        assert name in metadata.tables, f"table {name} is gone after the upgrade"
        table = metadata.tables[name]
        primary = list(table.primary_key.columns)
        assert primary, f"{name} has no primary key to find its rows by"
        stored[name] = {}
        for key in wanted:
            found = connection.execute(select(table).where(and_(*(
                column == value for column, value in zip(primary, key, strict=True))))
            ).mappings().one_or_none()
            if found is not None:
                stored[name][key] = {column: _plain(value) for column, value in found.items()}
    return stored


def primary_keys(metadata: MetaData, inserted: dict[str, list[Row]]) -> dict[str, list[tuple]]:
    return {name: [tuple(row[c.name] for c in metadata.tables[name].primary_key.columns)
                   for row in rows] for name, rows in inserted.items()}


def alembic_versions(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


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
