"""``provider serve``: the app under gunicorn, N worker processes."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

from .jobs import start_scheduler


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


def _start_jobs(worker) -> None:
    """gunicorn post_worker_init hook: each worker runs the scheduler; leases make
    every job run in one process at a time."""
    app = worker.app.wsgi()
    start_scheduler(app, tick_seconds=float(app.config["PROVIDER_JOBS_TICK_SECONDS"]))


def serve(app: Flask, host: str, port: int, workers: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "limit_request_line": 8190,
        "forwarded_allow_ips": "127.0.0.1",
        "post_worker_init": _start_jobs,
    }
    _Gunicorn(app, options).run()
