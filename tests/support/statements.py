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
