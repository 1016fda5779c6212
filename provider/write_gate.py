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
A process that dies holding the lock releases it with its file descriptors.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class WriteGate:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + "-writers.lock")
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._owner: int | None = None  # the thread that holds the gate

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> bool:
        """Wait for the gate; False (and no wait) if this thread holds it already,
        as a second connection of one thread would (SQLite then refuses it as ever)."""
        if self._owner == threading.get_ident():
            return False
        self._mutex.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        """Open the gate again; from any thread (a connection may be returned to the
        pool by another one)."""
        self._owner = None
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._mutex.release()
