"""What the deny-list check costs UserInfo, on the database and on Redis.

    .venv/bin/python bench/denylist.py [--requests 2000] [--concurrency 4] [--workers 2]
                                       [--checks 5000]

Starts its own redis-server (free loopback port, throw-away directory, no
persistence) and, for each backend, its own provider (``provider serve``) on a
free port with a throw-away instance folder, so it touches nothing of yours.
For each backend it prints:

- the check alone, in process: ``denylist.is_denied`` for a jti that is not
  denied (the common case) and for one that is;
- UserInfo in process (Flask test client, one thread), with the real check and
  with the check replaced by a no-op: the difference is the check's overhead;
- UserInfo over HTTP against ``provider serve``: requests per second, p50, p99.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import requests
from token_endpoint import BIN, PASSWORD, first_refresh_token, free_port, measure, run

from provider import create_app, denylist
from provider.extensions import db


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                                str(directory), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with redis.Redis(port=port) as probe:
                    probe.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def provider(instance: str, extra_env: dict[str, str], workers: int) -> Iterator[dict]:
    """A served provider with a user and a trusted client; its issuer, env and client."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PROVIDER_INSTANCE_PATH": instance, "PROVIDER_ISSUER": issuer,
           **extra_env}
    run([str(BIN / "provider"), "init"], env)
    web = json.loads(run([str(BIN / "provider"), "clients", "create", "--name", "web",
                          "--redirect-uri", "http://127.0.0.1:9/cb", "--trusted",
                          "--scope", "openid offline_access"], env))
    subprocess.run([str(BIN / "provider"), "users", "create", "bench", "--password-stdin"],
                   env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    server = subprocess.Popen([str(BIN / "provider"), "serve", "--port", str(port),
                               "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                requests.get(issuer + "/.well-known/jwks.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield {"issuer": issuer, "env": env, "web": web}
    finally:
        server.terminate()
        server.wait(timeout=10)


def access_token(issuer: str, web: dict) -> str:
    """A user access token with ``openid``: one login, then one refresh."""
    refresh_token = first_refresh_token(issuer, web)
    response = requests.post(issuer + "/token", auth=(web["client_id"], web["client_secret"]),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": refresh_token}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def timed(count: int, call: Callable[[], object]) -> float:
    """Microseconds per call over ``count`` calls."""
    began = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - began) / count * 1e6


def best_of(rounds: int, count: int, *calls: Callable[[], object]) -> list[float]:
    """Each call's best round, the calls interleaved round by round, so that load
    from elsewhere on the machine hits them alike."""
    best = [float("inf")] * len(calls)
    for _ in range(rounds):
        for index, call in enumerate(calls):
            best[index] = min(best[index], timed(count, call))
    return best


def in_process(served: dict, backend: str, token: str, checks: int) -> None:
    config = {"PROVIDER_INSTANCE_PATH": served["env"]["PROVIDER_INSTANCE_PATH"],
              "PROVIDER_ISSUER": served["issuer"]}
    if "REDIS_URL" in served["env"]:
        config["REDIS_URL"] = served["env"]["REDIS_URL"]
    app = create_app(config)
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def userinfo() -> None:
        response = http.get("/userinfo", headers=headers)
        assert response.status_code == 200, response.data

    with app.app_context():
        store = denylist.backend()
        assert store.name == backend, store.name
        store.deny("bench-denied", int(time.time()) + 600, "bench")
        db.session.commit()
        miss, hit = best_of(5, checks, lambda: store.is_denied("bench-not-denied"),
                            lambda: store.is_denied("bench-denied"))
    userinfo()  # warm the key ring and connections
    real = denylist.is_denied

    def userinfo_without_check() -> None:
        denylist.is_denied = lambda jti: False  # the bench only: no check at all
        try:
            userinfo()
        finally:
            denylist.is_denied = real

    with_check, without_check = best_of(9, max(100, checks // 50), userinfo,
                                        userinfo_without_check)
    print(f"  check alone: {miss:.0f} µs (not denied), {hit:.0f} µs (denied)")
    print(f"  UserInfo in process: {with_check / 1000:.2f} ms with the check, "
          f"{without_check / 1000:.2f} ms without: overhead {with_check - without_check:.0f} µs "
          f"({(with_check - without_check) / with_check:.0%})")
    store.close()


def over_http(issuer: str, token: str, count: int, concurrency: int) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}

    def userinfo() -> None:
        response = session.get(issuer + "/userinfo", headers=headers, timeout=10)
        assert response.status_code == 200, response.text

    userinfo()
    measure("  UserInfo over HTTP", count, concurrency, userinfo)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checks", type=int, default=5000)
    args = parser.parse_args()
    print(f"provider serve --workers {args.workers}, concurrency {args.concurrency}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis_url:
        for backend, extra_env in (("database", {}), ("redis", {"REDIS_URL": redis_url})):
            instance = tempfile.mkdtemp(dir=scratch)
            with provider(instance, extra_env, args.workers) as served:
                token = access_token(served["issuer"], served["web"])
                print(f"{backend}:")
                in_process(served, backend, token, args.checks)
                over_http(served["issuer"], token, args.requests, args.concurrency)


if __name__ == "__main__":
    main()
