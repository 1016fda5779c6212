"""``/healthz`` (the process is alive: no I/O at all, so a slow database never gets
a healthy process restarted) and ``/readyz`` (it can serve: ``readiness.check``),
for load balancers and orchestrators. Neither is in discovery."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .. import readiness, redis_connection
from ..endpoint_policy import JSON, EndpointPolicy

bp = Blueprint("health", __name__)
POLICY = EndpointPolicy(errors=JSON)


@bp.get("/healthz")
def healthz() -> Response:
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz() -> Response:
    redis = redis_connection.client(current_app.config, "readiness")
    checks = readiness.check(redis.ping if redis is not None else None)
    ready = readiness.is_ready(checks)
    return _answer({"status": "ready" if ready else "unavailable", "checks": checks},
                   200 if ready else 503)


def _answer(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
