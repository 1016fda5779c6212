"""Engine behaviour and transaction boundaries shared by every backend.

SQLite runs in WAL mode with a busy timeout. Its driver-level implicit
transactions are switched off so that SQLAlchemy emits ``BEGIN`` itself: a
transaction that is going to write starts with ``BEGIN IMMEDIATE`` and so holds
the write lock from its first statement. A deferred transaction that reads and
then writes can fail at once with "database is locked" when another process
wrote in between; one that takes the lock up front simply waits its turn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, request
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from werkzeug.exceptions import BadRequest

from .extensions import db
from .write_gate import WriteGate

IMMEDIATE = "provider_begin_immediate"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
F = TypeVar("F", bound=Callable[..., Any])


class UnstorableText(BadRequest):
    """A request value the database cannot hold: 400, in the endpoint's own shape."""

    description = "A request parameter contains a NUL character."


def configure_engine(app: Flask) -> None:
    """Install the SQLite pragmas and the BEGIN handling, or PostgreSQL's NUL check,
    on the app's engine."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        _refuse_nul_characters(engine)
        return
    if engine.dialect.name != "sqlite":
        return
    busy_timeout = int(app.config["PROVIDER_SQLITE_BUSY_TIMEOUT_MS"])
    database = engine.url.database
    gate = WriteGate(Path(database), timeout=busy_timeout / 1000) \
        if database and database != ":memory:" else None
    _install_sqlite_hooks(engine, busy_timeout, gate)


def _refuse_nul_characters(engine: Engine) -> None:
    """PostgreSQL refuses U+0000 in any text value, even in a lookup, with an error
    that would otherwise be a 500. Every value a client sent that reaches a statement
    (a username, a nonce, an id from a form) passes here; none has a use for NUL, and
    SQLite, which stores it, finds nothing for it either."""
    if getattr(engine, "_provider_hooks", False):
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _check(_conn: Any, _cursor: Any, _statement: str, parameters: Any,
               _context: Any, executemany: bool) -> None:
        for row in (parameters if executemany else (parameters,)):
            values = row.values() if isinstance(row, dict) else (row or ())
            if any(isinstance(value, str) and "\x00" in value for value in values):
                raise UnstorableText()

    engine._provider_hooks = True  # type: ignore[attr-defined]


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int, gate: WriteGate | None) -> None:
    if getattr(engine, "_provider_hooks", False):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        # connection.info belongs to the pooled DBAPI connection: the pool's checkin
        # below sees it once the transaction has ended and the connection is back
        if immediate and gate is not None and gate.acquire():
            connection.info[IMMEDIATE] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except BaseException:
            _leave_gate(connection.info)
            raise

    def _leave_gate(info: dict) -> None:
        if info.pop(IMMEDIATE, False) and gate is not None:
            gate.release()

    # after the COMMIT or ROLLBACK and the pool's reset: the next writer finds SQLite free
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _leave_gate(record.info)

    engine._provider_hooks = True  # type: ignore[attr-defined]


def begin_write() -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite).

    Must run before the session has touched the database in this transaction.
    On PostgreSQL this is an ordinary BEGIN; atomicity there comes from the
    conditional UPDATEs themselves.
    """
    if db.session().in_transaction():
        db.session.rollback()
    db.session.connection(execution_options={IMMEDIATE: True})


def serialise(name: str) -> None:
    """Make this writing transaction the only one under ``name`` until it ends.

    On SQLite every writer is already alone (BEGIN IMMEDIATE). On PostgreSQL it is a
    transaction-level advisory lock, for operations that read, decide and write
    several rows, such as signing-key rotation, where row claims do not fit.
    Call it after ``begin_write`` and before the operation's first read.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": advisory_lock_key(name)})


def advisory_lock_key(name: str) -> int:
    """The bigint key of PostgreSQL advisory lock ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def upsert_insert(target: Any) -> Any:
    """An INSERT on ``target`` with ``on_conflict_do_update`` (the dialect's own: the
    construct exists for SQLite and PostgreSQL alike, each in its module)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def lift_statement_deadline() -> None:
    """Let this transaction's statements run past the per-statement deadline (on
    PostgreSQL; SQLite has none): for housekeeping that may delete a large backlog,
    which would otherwise time out on every run while the backlog grows."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL statement_timeout = 0"))


def writing(func: F) -> F:
    """Start ``func``'s transaction as a writer; for operations that read, then write,
    then commit themselves (operator commands, background jobs)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        begin_write()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def write_transaction() -> Iterator[None]:
    """One writing transaction: committed on success, rolled back on any error."""
    begin_write()
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def atomic_view(commit_when: Callable[[Any], bool] | None = None,
                writes_when: Callable[[], bool] | None = None) -> Callable[[F], F]:
    """Run a view in one writing transaction, once its request body has arrived.

    The transaction commits when the view returns and ``commit_when(response)``
    is true (default: always), and rolls back otherwise or on an exception.
    When ``writes_when()`` says the request writes nothing, no write lock is
    taken, so read-only requests never queue behind writers on SQLite.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # The whole body is in before the write lock is taken: a client trickling
            # it in must not hold SQLite's lock, and so every writer, while it does.
            request.get_data(cache=True)
            if writes_when is None or writes_when():
                begin_write()
            try:
                response = view(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                raise
            if commit_when is None or commit_when(response):
                db.session.commit()
            else:
                db.session.rollback()
            return response

        return wrapper  # type: ignore[return-value]

    return decorator
