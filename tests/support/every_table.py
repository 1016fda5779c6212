"""Rows in every table of a schema, generated from the reflected column types (a
table added later is covered without a change), and snapshots to compare them:
for the upgrade test and for ``provider db copy``'s."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import pytest
from alembic.script import ScriptDirectory
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
    select,
    text,
)
from sqlalchemy.engine import Connection

from provider.database import MIGRATIONS
from provider.keys.encryption import encrypt_private_key

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
