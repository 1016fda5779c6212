"""``provider serve``: the app under gunicorn, N worker processes."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication


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
    }
    _Gunicorn(app, options).run()
