"""One writer at a time on a SQLite file, in arrival order, across processes.

SQLite lets one transaction write at a time, and a writer that finds the lock taken
sleeps in its busy handler (1, 2, 5 … up to 100 ms between tries) while the holder,
done in a millisecond or two, starts its next write at once. With two workers that
each write back to back, one could wait over a second (the p99 of the refresh and
code-flow benchmarks). Here every writer first takes an exclusive ``flock`` on a
file beside the database: the kernel wakes a waiter the moment the lock is released,
so waits are as long as the writes ahead, no longer. SQLite's busy timeout still
covers writers that do not pass the gate (the sqlite3 shell).

Threads of one process share a file's lock, so they pass a process-wide mutex first.
A process that dies holding the lock releases it with its file descriptors. A writer
waits at most the busy timeout, as it would for SQLite's lock, then fails the same
way ("database is locked"). The wait polls: Linux has no timed ``flock``, and a few
hundred microseconds between tries keep a waiter close to the front of the queue.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import sqlite3
import threading
import time
from pathlib import Path

# seconds between tries while the gate is taken: quick at first, then every half millisecond
POLL_STEPS = (0.00005, 0.0001, 0.0002, 0.0005)
# the lock file holds nothing: any account that can write the database may lock it, and
# one that can only open it read-only still can (flock needs no write access)
LOCK_FILE_MODE = 0o644


class WriteGate:
    def __init__(self, database: Path, timeout: float = 15.0) -> None:
        self.path = database.with_name(database.name + "-writers.lock")
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._owner: int | None = None  # the thread that holds the gate

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                   LOCK_FILE_MODE)
            except PermissionError:  # made by another account (root running the CLI)
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> bool:
        """Wait for the gate; False (and no wait) if this thread holds it already,
        as a second connection of one thread would (SQLite then refuses it as ever).
        Raises ``sqlite3.OperationalError`` after ``timeout`` seconds."""
        if self._owner == threading.get_ident():
            return False
        deadline = time.monotonic() + self.timeout
        if not self._mutex.acquire(timeout=self.timeout):
            raise _locked()
        try:
            self._lock_file(deadline)
        except BaseException:
            self._mutex.release()
            raise
        self._owner = threading.get_ident()
        return True

    def _lock_file(self, deadline: float) -> None:
        descriptor = self._descriptor()
        for attempt in itertools.count():
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked() from None
                time.sleep(POLL_STEPS[min(attempt, len(POLL_STEPS) - 1)])

    def release(self) -> None:
        """Open the gate again; from any thread (a connection may be returned to the
        pool by another one)."""
        self._owner = None
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._mutex.release()


def _locked() -> sqlite3.OperationalError:
    return sqlite3.OperationalError("database is locked (waiting for the write gate)")
