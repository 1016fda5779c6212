"""A real PostgreSQL for the tests: a cluster that the test session creates with
Debian's ``initdb`` in a temporary directory, on a free loopback port, with
durability switched off (the data is thrown away); stopped and removed when the
block ends. A test may stop and start it again to see an outage.

Debian keeps ``initdb`` and ``pg_ctl`` in ``/usr/lib/postgresql/<version>/bin``,
and they refuse to run as root: as root they run as the ``postgres`` user, which
is handed the directory (``mkdtemp`` makes it root-only)."""

from __future__ import annotations

import glob
import os
import pwd
import queue
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from tests.support.live_server import free_port

REQUIRE_ENV = "PROVIDER_REQUIRE_POSTGRES"
SERVER = ("max_connections=400", "listen_addresses=127.0.0.1")
# the tests' data is thrown away: nothing needs to reach the disk
THROWAWAY = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# what a benchmark runs on: durable, commits acknowledged before they are flushed (as
# SQLite's synchronous=NORMAL in WAL mode does: a crash may lose the last commits,
# never corrupt)
DURABLE = ("synchronous_commit=off",)


MISSING = ("PostgreSQL is not installed (apt-get install postgresql): "
           "the PostgreSQL half of the suite is skipped")


def find_postgres_bin() -> Path | None:
    """The newest PostgreSQL ``bin`` directory Debian installed, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(Path(path).parent.parent.name))
    return Path(found[-1]).parent if found else None


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1" or os.environ.get("CI") == "true"


def postgres_bin() -> Path:
    """The PostgreSQL ``bin`` directory, or a skip (a failure in CI); the run's summary
    says so loudly (conftest's ``pytest_terminal_summary``)."""
    found = find_postgres_bin()
    if found is None:
        if postgres_required():
            pytest.fail(f"in CI PostgreSQL is required, but {MISSING}", pytrace=False)
        pytest.skip(MISSING)
    return found


@dataclass
class PostgresServer:
    bin: Path
    data: Path
    port: int
    log: Path
    settings: tuple[str, ...] = THROWAWAY

    def url(self, database: str = "postgres") -> str:
        return URL.create("postgresql+psycopg", username="postgres", host="127.0.0.1",
                          port=self.port, database=database).render_as_string()

    def _run(self, *args: str, timeout: int = 60) -> None:
        result = subprocess.run(_as_owner(self.data.parent, [str(self.bin / args[0]),
                                                             *args[1:]]),
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{args[0]} failed: {result.stderr}\n{log}", pytrace=False)

    def start(self) -> None:
        options = " ".join(f"-c {setting}" for setting in SERVER + self.settings)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", f"-p {self.port} -k {self.data.parent} {options}", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE) as superuser."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()


class DatabaseSupply:
    """Fresh databases copied from ``template``, made ahead of need on a thread of its
    own, and dropped there too: copying a database takes longer than many tests do."""

    def __init__(self, server: PostgresServer, template: str, ready: int = 2) -> None:
        self.server, self.template = server, template
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=ready)
        self._dropping: queue.Queue[str | None] = queue.Queue()
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._make, daemon=True),
                         threading.Thread(target=self._drop, daemon=True)]
        for thread in self._threads:
            thread.start()

    def take(self) -> str:
        made = self._ready.get(timeout=60)
        if isinstance(made, BaseException):
            raise made
        return made

    def discard(self, name: str) -> None:
        self._dropping.put(name)

    def close(self) -> None:
        self._stopped.set()
        self._dropping.put(None)
        while not self._ready.empty():
            self._ready.get_nowait()  # frees the maker if it is waiting for room
        for thread in self._threads:
            thread.join(timeout=30)

    def _make(self) -> None:
        while not self._stopped.is_set():
            name = f"test_{uuid.uuid4().hex[:16]}"
            try:
                self.server.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
            except BaseException as error:  # handed to the test that waits for it
                self._ready.put(error)
                return
            while not self._stopped.is_set():
                try:
                    self._ready.put(name, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def _drop(self) -> None:
        while (name := self._dropping.get()) is not None:
            self.server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _owner_is_postgres() -> bool:
    return os.geteuid() == 0


def _as_owner(directory: Path, command: list[str]) -> list[str]:
    if _owner_is_postgres():
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def run_postgres_server(settings: tuple[str, ...] = THROWAWAY) -> Iterator[PostgresServer]:
    """initdb and start a throw-away cluster; yield it; stop and remove it."""
    bin_dir = postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="provider-pg-"))
    if _owner_is_postgres():
        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir, directory / "data", free_port(), directory / "server.log",
                            settings)
    try:
        server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-locale", "--no-sync", timeout=120)
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            subprocess.run(_as_owner(directory, [str(bin_dir / "pg_ctl"), "-D",
                                                 str(server.data), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
