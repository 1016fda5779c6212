"""The servers a comparison runs: the provider on a fresh instance, node-oidc-provider
(bench/node/server.mjs) and a hello-world Flask app, each on a free loopback port,
and how to log a session in on each (the code flow the workloads start from)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import select
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from bench.seed import seed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CALLBACK = "http://127.0.0.1:9/cb"  # nothing listens: the code is read from Location
PASSWORD = "bench-password-1"
FORM_FIELD = re.compile(r'name="(csrf_token|interaction)" value="([^"]+)"')
VERIFIER = secrets.token_urlsafe(48)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode()
CHALLENGE = CHALLENGE.rstrip("=")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def resident_kib(pid: int) -> list[int]:
    """VmRSS of ``pid``'s child processes (the workers), or of ``pid`` alone."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += (task / "children").read_text().split()
    pids = [int(child) for child in children] or [pid]
    sizes = []
    for each in pids:
        status = Path(f"/proc/{each}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)))
    return sizes


@dataclass
class Endpoints:
    discovery: str
    jwks: str
    authorize: str
    token: str
    introspection: str
    userinfo: str


@dataclass
class Target:
    """One running OpenID provider and what the workloads need from it."""

    name: str
    process: subprocess.Popen
    endpoints: Endpoints
    service: tuple[str, str]  # client_credentials client: id, secret
    web: tuple[str, str]  # code-flow client: id, secret
    client_credentials_body: str = "grant_type=client_credentials"
    cleanup: list = field(default_factory=list)

    def authorize_url(self) -> str:
        return self.endpoints.authorize + "?" + urlencode({
            "response_type": "code", "client_id": self.web[0], "redirect_uri": CALLBACK,
            "scope": "openid offline_access", "state": "bench-state",
            "code_challenge": CHALLENGE, "code_challenge_method": "S256"})

    def token_body(self) -> str:
        return urlencode({"grant_type": "authorization_code", "redirect_uri": CALLBACK,
                          "code_verifier": VERIFIER})

    def sign_in(self, session: requests.Session, response: requests.Response
                ) -> requests.Response:
        """Answer the login step the provider shows; node's needs none."""
        return response

    def code(self, session: requests.Session) -> str:
        """A code through the browser flow, signing in first if the session has none."""
        response = session.get(self.authorize_url(), allow_redirects=False, timeout=10)
        for _ in range(10):
            response = self.sign_in(session, response)
            location = response.headers.get("Location")
            if location is None:
                raise RuntimeError(f"{self.name}: no redirect ({response.status_code})")
            location = urljoin(response.url, location)
            if location.startswith(CALLBACK):
                return parse_qs(urlsplit(location).query)["code"][0]
            response = session.get(location, allow_redirects=False, timeout=10)
        raise RuntimeError(f"{self.name}: too many redirects")

    def tokens(self, session: requests.Session) -> dict:
        answer = requests.post(self.endpoints.token, data=self.token_body() + "&code=" +
                               self.code(session), timeout=10,
                               headers={"Authorization": basic(*self.web),
                                        "Content-Type": "application/x-www-form-urlencoded"})
        answer.raise_for_status()
        return answer.json()

    def cookie_header(self, session: requests.Session) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in session.cookies)

    def client_credentials_token(self) -> str:
        answer = requests.post(self.endpoints.token, data=self.client_credentials_body,
                               headers={"Authorization": basic(*self.service),
                                        "Content-Type": "application/x-www-form-urlencoded"},
                               timeout=10)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self) -> list[int]:
        sizes = resident_kib(self.process.pid)
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for each in self.cleanup:
            each()
        return sizes


class ProviderTarget(Target):
    def sign_in(self, session, response):
        if response.status_code != 200 or "csrf_token" not in response.text:
            return response
        fields = dict(FORM_FIELD.findall(response.text))
        login_url = urljoin(response.url, "/login")
        return session.post(login_url, allow_redirects=False, timeout=10,
                            data={**fields, "username": "bench", "password": PASSWORD})


def _provider_cli(env: dict, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([str(BIN / "provider"), *args], env=env, input=stdin, text=True,
                          capture_output=True, check=True).stdout


def start_provider(workers: int = 2, access_token_alg: str = "RS256",  # noqa: S107 - an alg
                   seeded: bool = False, database_url: str | None = None) -> ProviderTarget:
    """``provider serve`` on a fresh SQLite instance, or on the empty PostgreSQL
    database ``database_url``; ``seeded`` (SQLite only): with the scaling row's users,
    clients and families in its database (bench/seed.py)."""
    port = free_port()
    instance = tempfile.TemporaryDirectory(prefix="bench-provider-")
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PROVIDER_INSTANCE_PATH": instance.name, "PROVIDER_ISSUER": issuer,
           "PORT": str(port), "PROVIDER_ACCESS_TOKEN_ALG": access_token_alg,
           **({"DATABASE_URL": database_url} if database_url else {})}
    _provider_cli(env, "init")
    if seeded:
        seed(Path(instance.name) / "provider.db")
    _provider_cli(env, "users", "create", "bench", "--password-stdin", stdin=PASSWORD + "\n")
    service = json.loads(_provider_cli(
        env, "clients", "create", "--name", "Bench service", "--redirect-uri",
        "http://127.0.0.1:9/unused", "--grant-type", "client_credentials", "--scope", "api:read"))
    web = json.loads(_provider_cli(
        env, "clients", "create", "--name", "Bench web", "--redirect-uri", CALLBACK,
        "--trusted", "--scope", "openid profile email offline_access"))
    command = [str(BIN / "provider"), "serve", "--port", str(port), "--workers", str(workers)]
    log = open(Path(instance.name) / "server.log", "w")  # noqa: SIM115 - lives with the server
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wait_for(issuer + "/.well-known/openid-configuration", process)
    endpoints = Endpoints(
        discovery=issuer + "/.well-known/openid-configuration",
        jwks=issuer + "/.well-known/jwks.json",
        authorize=issuer + "/authorize", token=issuer + "/token",
        introspection=issuer + "/introspect", userinfo=issuer + "/userinfo")
    return ProviderTarget("provider", process, endpoints,
                          (service["client_id"], service["client_secret"]),
                          (web["client_id"], web["client_secret"]),
                          cleanup=[log.close, instance.cleanup])


NODE = ROOT / "bench" / "node"


NODE_START_ATTEMPTS = 3
NODE_START_SECONDS = 30


def _launch_node(access_token_alg: str) -> tuple[subprocess.Popen, dict | None]:
    """One try at starting server.mjs: the process and its endpoints line, or None
    (and the process stopped) if it printed nothing in time. Once in a long run a
    node process sat idle without listening or printing anything."""
    process = subprocess.Popen(["node", "server.mjs"], cwd=NODE, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PORT": str(free_port()),
                                               "NODE_ENV": "production",
                                               "ACCESS_TOKEN_ALG": access_token_alg})
    ready, _, _ = select.select([process.stdout], [], [], NODE_START_SECONDS)
    line = process.stdout.readline() if ready else ""
    process.stdout.close()
    if not line:
        process.kill()
        process.wait(timeout=10)
        return process, None
    return process, json.loads(line)


def start_node(access_token_alg: str = "RS256") -> Target:  # noqa: S107 - an algorithm
    """node-oidc-provider (bench/node/server.mjs) in one process, in-memory store."""
    if not (NODE / "node_modules").exists():
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=NODE, check=True)
    for _ in range(NODE_START_ATTEMPTS):
        process, info = _launch_node(access_token_alg)
        if info is not None:
            break
    else:
        raise RuntimeError("node-oidc-provider did not start (bench/node/server.mjs)")
    endpoints = Endpoints(
        discovery=info["issuer"] + "/.well-known/openid-configuration", jwks=info["jwks_uri"],
        authorize=info["authorization_endpoint"], token=info["token_endpoint"],
        introspection=info["introspection_endpoint"], userinfo=info["userinfo_endpoint"])
    return Target("node-oidc-provider", process, endpoints,
                  ("bench-service", os.environ.get(
                      "SERVICE_SECRET", "service-secret-0123456789abcdef0123456789abcdef")),
                  ("bench-web", os.environ.get(
                      "WEB_SECRET", "web-secret-0123456789abcdef0123456789abcdef")),
                  client_credentials_body="grant_type=client_credentials&scope=api%3Aread")


def start_hello(server: str, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """The hello-world app on gunicorn's sync worker, on granian's WSGI interface, or
    behind ``provider serve``'s own front on granian (RSGI): the Python ceiling."""
    port = free_port()
    granian = [str(BIN / "granian"), "--host", "127.0.0.1", "--port", str(port), "--workers",
               str(workers), "--log-level", "warning"]
    if server == "granian":
        command = [*granian, "--interface", "wsgi", "bench.hello:app"]
    elif server == "provider front":
        command = [*granian, "--interface", "rsgi", "--http", "1", "bench.hello:front"]
    else:
        command = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind",
                   f"127.0.0.1:{port}", "--log-level", "warning", "bench.hello:app"]
    process = subprocess.Popen(command, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    wait_for(url, process)
    return process, url
