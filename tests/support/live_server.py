"""A real provider for end-to-end tests: ``provider init`` and ``provider serve``
(granian, two worker processes) on a free loopback port, driven over HTTP, with
users and clients created through the real CLI; and a read-only look into its
SQLite database."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.support.settings import CHEAP_CONFIG, PASSWORD

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveProvider:
    issuer: str
    instance: Path
    env: dict
    process: subprocess.Popen
    users: dict = field(default_factory=dict)
    direct: str = ""  # this process's own address; the issuer's unless behind a proxy

    def __post_init__(self) -> None:
        self.direct = self.direct or self.issuer

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "provider"), *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    def create_client(self, *args: str) -> dict:
        result = self.cli("clients", "create", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def create_user(self, username: str, *args: str) -> dict:
        result = self.cli("users", "create", username, "--password-stdin", *args,
                          stdin=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def discovery(self) -> dict:
        return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=5).json()


@contextmanager
def launch_provider(instance: Path, extra_env: dict[str, str] | None = None,
                    extra_config: str = "", *, issuer: str | None = None,
                    workers: int = 2, with_alice: bool = True) -> Iterator[LiveProvider]:
    """``provider init`` and ``provider serve`` (``workers`` workers) in ``instance``,
    with ``extra_env`` on top of the usual environment and ``extra_config`` appended
    to ``instance/config.py``; alice exists unless not ``with_alice``. ``issuer``:
    the address of a proxy in front, when it is not the process's own. Stopped on
    exit."""
    (instance / "config.py").write_text(CHEAP_CONFIG + extra_config)
    port = free_port()
    direct = f"http://127.0.0.1:{port}"
    issuer = issuer or direct
    env = {**os.environ, "PROVIDER_INSTANCE_PATH": str(instance), "PORT": str(port),
           "PROVIDER_ISSUER": issuer, **(extra_env or {})}
    init = subprocess.run([str(BIN / "provider"), "init"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    log = open(instance / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [str(BIN / "provider"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        provider = LiveProvider(issuer=issuer, instance=instance, env=env, process=process,
                                direct=direct)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(direct + "/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("provider did not start:\n" + (instance / "server.log").read_text())
            time.sleep(0.1)
        if with_alice:
            provider.users["alice"] = provider.create_user(
                "alice", "--email", "alice@example.com", "--name", "Alice Example",
                "--role", "user", "--role", "admin")
        yield provider
    finally:
        stop_process(process)
        log.close()


def query(provider: LiveProvider, sql: str, *args) -> list[tuple]:
    """A look into the live provider's database: its SQLite file (read-only), or the
    PostgreSQL database its ``DATABASE_URL`` names. ``?`` placeholders either way."""
    url = provider.env.get("DATABASE_URL")
    if url:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(sql.replace("?", "%s"), args).fetchall()
        finally:
            engine.dispose()
        # JSON columns as the text SQLite hands back (psycopg parses them)
        return [tuple(json.dumps(value) if isinstance(value, dict | list) else value
                      for value in row) for row in rows]
    uri = f"file:{provider.instance / 'provider.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
        return connection.execute(sql, args).fetchall()


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server the tests started, and kill it if it will not go."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
