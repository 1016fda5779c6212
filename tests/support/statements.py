"""The SQL statements a block of requests runs, to keep hot paths from creeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from provider.extensions import db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class Statements(list):
    """The SQL text of each statement run (a list of str), and each one's parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.parameters: list = []

    def add(self, statement: str, parameters) -> None:
        self.append(" ".join(statement.split()))
        self.parameters.append(parameters)

    def touching(self, table: str) -> Statements:
        chosen = Statements()
        for statement, parameters in zip(self, self.parameters, strict=True):
            if table in statement:
                chosen.add(statement, parameters)
        return chosen


@contextmanager
def recorded_statements(app: Flask) -> Iterator[Statements]:
    """Every statement but transaction control, while the block runs."""
    statements = Statements()

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.add(statement, parameters)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_scans(app: Flask, statements: Statements) -> list[str]:
    """The query-plan lines of ``statements`` that read a whole table or index instead
    of searching it: a hot path must only search, so that it stays as fast with a
    million rows as with ten. SQLite: EXPLAIN QUERY PLAN. PostgreSQL: EXPLAIN with the
    statement's own parameters and sequential scans priced out, so that a table too
    small to be worth an index still shows whether one could be used."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            return _postgresql_scans(connection, statements)
        scans = []
        for statement in statements:
            parameters = (None,) * statement.count("?")
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                              parameters).fetchall()
            scans += [f"{row[-1]}  <-  {statement}" for row in plan
                      if str(row[-1]).startswith("SCAN") and "CONSTANT ROW" not in row[-1]]
        return scans


def _postgresql_scans(connection, statements: Statements) -> list[str]:
    scans = []
    connection.exec_driver_sql("SET enable_seqscan = off")
    try:
        for statement, parameters in zip(statements, statements.parameters, strict=True):
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).fetchall()
            scans += [f"{row[0].strip()}  <-  {statement}" for row in plan
                      if "Seq Scan" in row[0]]
    finally:
        connection.rollback()
    return scans
