"""The SQL statements a block of requests runs, to keep hot paths from creeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from provider.extensions import db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def recorded_statements(app: Flask) -> Iterator[list[str]]:
    """Every statement but transaction control, while the block runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_scans(app: Flask, statements: list[str]) -> list[str]:
    """The query-plan lines (SQLite's EXPLAIN QUERY PLAN) of ``statements`` that read
    a whole table or index instead of searching it: a hot path must only search, so
    that it stays as fast with a million rows as with ten."""
    scans = []
    with app.app_context(), db.engine.connect() as connection:
        for statement in statements:
            parameters = (None,) * statement.count("?")
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                              parameters).fetchall()
            scans += [f"{row[-1]}  <-  {statement}" for row in plan
                      if str(row[-1]).startswith("SCAN") and "CONSTANT ROW" not in row[-1]]
    return scans
