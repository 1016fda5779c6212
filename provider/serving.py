"""``provider serve``: the app under gunicorn, N worker processes of M threads each.

A sync worker is held by any connection it accepts until that connection sends a
whole request, so two idle sockets froze a two-worker provider until the worker
timeout. Here each worker is gunicorn's threaded worker (``gthread``) with two
changes, so that idle and slow clients cost a thread only as long as they must:

- a new connection waits for its first bytes in the worker's event loop, not in a
  pool thread (gunicorn's own worker parks a thread for up to 5 s on each one),
  and is closed after ``KEEPALIVE_SECONDS`` of silence, as between requests;
- a request must arrive whole, headers and body, within
  ``PROVIDER_REQUEST_READ_TIMEOUT_SECONDS`` of its first bytes; a slower one is
  answered ``408`` by the app (or, still in its headers, just closed), so a
  trickling or vanished client cannot keep a thread for ever.

Threads share the process's engine pool (SQLite connections may cross threads)
and each request has its own Flask-SQLAlchemy session (scoped to its app context);
the per-worker scheduler thread starts in ``post_worker_init`` as before. This
relies on the worker internals of gunicorn 27 (see pyproject.toml).
"""

from __future__ import annotations

import errno
import selectors
import time
from functools import partial
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import NoMoreData
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

from .jobs import start_scheduler

# per worker: with the scheduler and the outbox threads, within the 15 connections of
# SQLAlchemy's default pool (more threads would queue for a connection)
THREADS = 8
KEEPALIVE_SECONDS = 5  # silence allowed before a first request and between requests
READ_TIMEOUT_SETTING = "PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"


class RequestReadTimeout(NoMoreData):
    """The client did not send its request in time, outside the app (headers, or the
    unread rest of a body): a ``NoMoreData`` to gunicorn, which closes the connection."""


class _DeadlineUnreader(SocketUnreader):
    """Socket reads that all end by the connection's current deadline."""

    def __init__(self, sock: Any, connection: _Connection) -> None:
        super().__init__(sock)
        self.connection = connection

    def chunk(self, size_hint: int | None = None) -> bytes:
        remaining = self.connection.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        previous = self.sock.gettimeout()  # gunicorn's own body drain sets a shorter one
        self.sock.settimeout(remaining if previous is None else min(previous, remaining))
        try:
            return super().chunk(size_hint)
        except TimeoutError:
            if time.monotonic() < self.connection.deadline:
                raise  # the drain's timeout: gunicorn handles it
            raise self._timed_out() from None
        finally:
            self.sock.settimeout(previous)

    def _timed_out(self) -> Exception:
        # Inside the app, werkzeug would turn an OSError into "400 client disconnected";
        # an HTTPException passes through to the app's error handlers. Gunicorn marks
        # the body as failed either way, so the connection closes after the answer.
        return RequestTimeout() if self.connection.in_app else RequestReadTimeout()


class _Connection(TConn):
    deadline = float("inf")
    in_app = False  # the WSGI app is running: it reads the body

    def init(self) -> None:
        first = not self.initialized
        super().init()
        if first and type(self.parser.unreader) is SocketUnreader:
            self.parser.unreader = _DeadlineUnreader(self.sock, self)


class ProviderWorker(ThreadWorker):
    """gunicorn's gthread worker; threads only ever wait for requests that are arriving."""

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Connection(self.cfg, client_sock, client_addr, listener.getsockname())
        # Parked like a connection deferred by gunicorn itself: the poller hands it
        # to a thread once readable, murder_pending() closes it when silent too long.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))

    def handle(self, conn: _Connection) -> Any:
        conn.deadline = time.monotonic() + float(self.wsgi.config[READ_TIMEOUT_SETTING])
        return super().handle(conn)

    def handle_request(self, req: Any, conn: _Connection) -> bool:
        conn.in_app = True
        try:
            return super().handle_request(req, conn)
        finally:
            conn.in_app = False


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _start_jobs(worker: Any) -> None:
    """gunicorn post_worker_init hook: each worker runs the scheduler; leases make
    every job run in one process at a time."""
    app = worker.app.wsgi()
    start_scheduler(app, tick_seconds=float(app.config["PROVIDER_JOBS_TICK_SECONDS"]))


def serve(app: Flask, host: str, port: int, workers: int, threads: int = THREADS) -> None:
    """Run gunicorn in the foreground until it is stopped."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": ProviderWorker,
        "threads": threads,
        "keepalive": KEEPALIVE_SECONDS,
        # gthread's main loop never blocks on a client, so this only catches a hung process
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "limit_request_line": 8190,
        # Trust no forwarding header from anyone: a client could set SCRIPT_NAME or
        # X-Forwarded-Proto itself (an explicit trusted-proxy setting may come later).
        "forwarded_allow_ips": "",
        "forwarder_headers": "",
        "post_worker_init": _start_jobs,
    }
    _Gunicorn(app, options).run()
