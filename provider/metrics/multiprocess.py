"""prometheus_client's multiprocess mode under ``provider serve``.

Each granian worker process writes its values to its own files in
``PROMETHEUS_MULTIPROC_DIR``, and whichever worker answers a scrape sums them all,
so the counts are the server's whatever worker served each request. The
directory is made fresh for every ``provider serve`` run (counts of an earlier run
would otherwise add to this one's) and removed when it ends. The pool gauge of a
worker that has exited is dropped at the next scrape.

prometheus_client decides between memory and files when it is first imported, in
each process, from the environment: the directory must be set before that, which
is why nothing imports it until a metric is first used.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# the live gauges' files, one per process: gauge_livesum_<pid>.db
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def directory() -> str | None:
    """The directory the worker processes share, or None when the metrics are in memory."""
    return os.environ.get(VARIABLE) or None


@contextmanager
def worker_directory() -> Iterator[Path]:
    """A fresh, private ``PROMETHEUS_MULTIPROC_DIR`` for the worker processes started
    inside the block (they inherit the environment), removed afterwards."""
    if "prometheus_client" in sys.modules:
        # this process, and every worker forked from it, would keep counting in memory
        raise RuntimeError("prometheus_client was imported before the metrics directory "
                           "of the worker processes was set")
    previous = os.environ.get(VARIABLE)
    path = Path(tempfile.mkdtemp(prefix="provider-metrics-"))  # mode 0700
    os.environ[VARIABLE] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = previous
        shutil.rmtree(path, ignore_errors=True)


def exposition(registry: CollectorRegistry, path: str | None) -> bytes:
    """The text format of ``registry``, or of every process's files in ``path``."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if path is None:
        return generate_latest(registry)
    forget_dead_processes(path)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=path)
    return generate_latest(merged)


def forget_dead_processes(path: str) -> None:
    """Drop the live gauges of processes that have exited (a replaced worker)."""
    from prometheus_client.multiprocess import mark_process_dead

    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.fullmatch(name)
        if match is not None and not _alive(int(match[1])):
            # another worker's scrape may have dropped it first
            with suppress(FileNotFoundError):
                mark_process_dead(int(match[1]), path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its pid is another user's now
        return False
    return True
