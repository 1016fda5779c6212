"""A real ``redis-server`` for the tests: a free loopback port, a throw-away
directory, no persistence; stopped when the block ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.live_server import free_port, stop_process

REQUIRE_ENV = "PROVIDER_REQUIRE_REDIS"


def redis_server_binary() -> str:
    """The redis-server path, or a loud skip (a failure where CI requires Redis)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = ("redis-server is not installed (apt-get install redis-server): "
                   "the Redis tests are skipped")
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {message}", pytrace=False)
        pytest.skip(message)
    return binary


@contextmanager
def run_redis_server(directory: Path) -> Iterator[str]:
    """Start redis-server in ``directory``; yield its ``redis://`` URL."""
    with redis_process(directory) as (url, _process):
        yield url


@contextmanager
def redis_process(directory: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start redis-server in ``directory``; yield its URL and its process (which a
    test may stop with SIGSTOP to make Redis stop answering)."""
    binary = redis_server_binary()
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--appendonly", "no", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ""
                pytest.fail(f"redis-server did not start:\n{text}", pytrace=False)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        stop_process(process)
