"""Token endpoint throughput against ``provider serve`` on loopback:
client_credentials, refresh-token rotation, and the discovery document.

    .venv/bin/python bench/token_endpoint.py [--requests 2000] [--concurrency 8] [--workers 2]

Starts its own provider on a free port with a throw-away instance folder, so it
touches nothing of yours. Prints requests per second and latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

# the comparison's helpers (bench/targets.py), imported as a sibling script module
from targets import BIN, FORM_FIELD, PASSWORD, free_port


def run(cmd: list[str], env: dict) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return result.stdout




def first_refresh_token(issuer: str, client: dict) -> str:
    """One code flow through the real login form (trusted client: no consent)."""
    import base64
    import hashlib

    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": client["redirect_uris"][0], "scope": "openid offline_access",
              "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256"}
    login = browser.get(issuer + "/authorize", params=params, timeout=10)
    fields = dict(FORM_FIELD.findall(login.text))
    done = browser.post(issuer + "/login", allow_redirects=False, timeout=10,
                        data={**fields, "username": "bench", "password": PASSWORD})
    code = requests.utils.urlparse(done.headers["Location"]).query.split("code=")[1].split("&")[0]
    tokens = requests.post(issuer + "/token", auth=(client["client_id"], client["client_secret"]),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": client["redirect_uris"][0],
                                 "code_verifier": verifier}, timeout=10).json()
    return tokens["refresh_token"]


def measure(label: str, count: int, concurrency: int, call) -> None:
    latencies: list[float] = []

    def one(_: int) -> None:
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"{label}: {count / elapsed:,.0f} req/s over {count} requests, "
          f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p(0.99):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as instance:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PROVIDER_INSTANCE_PATH": instance, "PROVIDER_ISSUER": issuer}
        run([str(BIN / "provider"), "init"], env)
        service = json.loads(run([str(BIN / "provider"), "clients", "create", "--name", "bench",
                                  "--redirect-uri", "http://127.0.0.1:9/cb", "--grant-type",
                                  "client_credentials", "--scope", "api:read"], env))
        web = json.loads(run([str(BIN / "provider"), "clients", "create", "--name", "web",
                              "--redirect-uri", "http://127.0.0.1:9/cb", "--trusted",
                              "--scope", "openid offline_access"], env))
        subprocess.run([str(BIN / "provider"), "users", "create", "bench", "--password-stdin"],
                       env=env, input=PASSWORD + "\n", text=True, check=True,
                       capture_output=True)
        server = subprocess.Popen([str(BIN / "provider"), "serve", "--port", str(port),
                                   "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    requests.get(issuer + "/.well-known/jwks.json", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            session = requests.Session()
            auth = (service["client_id"], service["client_secret"])

            def client_credentials() -> None:
                response = session.post(issuer + "/token", auth=auth, timeout=10,
                                        data={"grant_type": "client_credentials"})
                assert response.status_code == 200, response.text

            client_credentials()  # warm the key cache in at least one worker
            print(f"provider serve --workers {args.workers}, concurrency {args.concurrency}, "
                  f"{os.cpu_count()} CPUs")
            measure("client_credentials (RS256 access token)", args.requests,
                    args.concurrency, client_credentials)
            chains = [first_refresh_token(issuer, web) for _ in range(args.concurrency)]
            web_auth = (web["client_id"], web["client_secret"])

            owner = threading.local()
            free_chains = iter(range(args.concurrency))

            def rotate() -> None:
                if not hasattr(owner, "chain"):  # each pool thread rotates its own chain
                    owner.chain = next(free_chains)
                response = requests.post(issuer + "/token", auth=web_auth, timeout=10, data={
                    "grant_type": "refresh_token", "refresh_token": chains[owner.chain]})
                assert response.status_code == 200, response.text
                chains[owner.chain] = response.json()["refresh_token"]

            measure("refresh_token rotation (one chain per thread)", args.requests,
                    args.concurrency, rotate)
            measure("discovery document", args.requests, args.concurrency,
                    lambda: session.get(issuer + "/.well-known/openid-configuration", timeout=10))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
