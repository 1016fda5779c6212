"""``provider serve``: the app on granian, N worker processes, each its own event loop.

Why granian: on the benchmark's workloads (``bench/README.md``) its hello-world
ceiling on this kind of machine is 2–5 times gunicorn's, and the provider's
figures follow. What gunicorn's worker did here is kept, each with its test:

- idle and slow clients cost no worker: granian's own runtime holds connections,
  closes one whose headers do not arrive within the header read timeout (also the
  silence allowed before a first request and between requests,
  ``KEEPALIVE_SECONDS`` at most), and the front reads bodies asynchronously with a
  deadline (``front.py``);
- a worker that exits is replaced (``respawn_failed_workers``), and one stuck in a
  request for ``front.REQUEST_TIMEOUT_SECONDS`` ends itself so that it is
  (``watchdog.py``);
- SIGTERM or SIGINT stops accepting, lets requests in progress finish, and kills
  what is still running after ``GRACEFUL_SECONDS``;
- each worker runs the job scheduler, started by granian's RSGI init hook.

HTTP/1.1 only: hyper starts the header read timeout of a connection only when it
speaks HTTP/1 from the start (with HTTP/2 detection, a silent connection waits
unbounded), and TLS, where HTTP/2 would matter, ends at the proxy in front.
"""

from __future__ import annotations

from flask import Flask
from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings

from ..extensions import db
from ..logs import dictconfig
from .front import READ_TIMEOUT_SETTING

KEEPALIVE_SECONDS = 5  # silence allowed before a first request and between requests
GRACEFUL_SECONDS = 10
HEADER_BUFFER_BYTES = 64 * 1024  # the request line and headers; a longer one is refused
WORKER_TARGET = "provider.serving.worker:front"


def header_read_timeout_ms(app: Flask) -> int:
    seconds = min(float(app.config[READ_TIMEOUT_SETTING]), KEEPALIVE_SECONDS)
    return max(int(seconds * 1000), 1)


def serve(app: Flask, host: str, port: int, workers: int) -> None:
    """Run granian in the foreground until it is stopped. ``app`` is the one the
    command line checked; each worker builds its own from the same configuration."""
    with app.app_context():
        db.engine.dispose()  # no connection of this process is inherited by a worker
    Granian(
        WORKER_TARGET,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        http=HTTPModes.http1,
        websockets=False,
        workers=workers,
        loop=Loops.asyncio,
        http1_settings=HTTP1Settings(header_read_timeout=header_read_timeout_ms(app),
                                     max_buffer_size=HEADER_BUFFER_BYTES),
        respawn_failed_workers=True,
        workers_kill_timeout=GRACEFUL_SECONDS,
        # the front writes the access log: with the request id, never a query string
        log_access=False,
        log_dictconfig=dictconfig(app.config["PROVIDER_LOG_FORMAT"]),
        # no forwarding header is read here: the app believes X-Forwarded-For only
        # from PROVIDER_TRUSTED_PROXIES (client_address.py), and takes no SCRIPT_NAME
    ).serve()
