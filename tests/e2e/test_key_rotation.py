"""Key rotation on a running multi-process deployment: zero failed verifications
by a resource server that caches the JWKS as its headers allow, and a rotation
done by one process used by another within the bounded time."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
import requests

from clients.resource_server import AccessTokenVerifier, InvalidToken
from tests.support.live_server import BIN, free_port, launch_provider, query

pytestmark = pytest.mark.e2e

# JWKS max-age 2 s and a 1 s key cache: a next key may sign 3 s after it is published.
FAST_KEYS = "PROVIDER_DISCOVERY_MAX_AGE = 2\nPROVIDER_KEY_CACHE_SECONDS = 1\n"
# the tokens looked at to tell that every worker signs with a key (two workers)
LATEST = 10


def wait_until(condition: Callable[[], bool], timeout: float, failure: str) -> None:
    """Poll ``condition`` until it holds; fail with ``failure`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(failure)
        time.sleep(0.05)


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def latest_kids(tokens: list[str]) -> set[str]:
    return {kid_of(token) for token in tokens[-LATEST:]}


@pytest.fixture(scope="module")
def fast_provider(tmp_path_factory):
    with launch_provider(tmp_path_factory.mktemp("rotation"), extra_config=FAST_KEYS) as live:
        yield live


def service_client(provider) -> dict:
    return provider.create_client("--name", "svc", "--redirect-uri", "http://127.0.0.1:9/cb",
                                  "--grant-type", "client_credentials", "--scope", "api:read")


def token_from(url: str, client: dict) -> str:
    response = requests.post(url + "/token", auth=(client["client_id"], client["client_secret"]),
                             data={"grant_type": "client_credentials"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def rotate_when_safe(provider, deadline: float = 20.0) -> str:
    """`provider keys rotate` (never forced) until it promotes the next keys; between
    attempts, waits as long as it says is left ("rotate again in N s")."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = provider.cli("keys", "rotate")
        assert result.returncode == 0, result.stderr
        if "now signs" in result.stdout:
            assert "forced" not in result.stdout
            return result.stdout
        left = [int(s) for s in re.findall(r"rotate again in (\d+) s", result.stdout)]
        time.sleep(max(0.0, min(max(left, default=0.5), end - time.monotonic())))
    pytest.fail("the next keys never became safe to promote")


def test_rotating_twice_under_load_fails_no_verification(fast_provider):
    client = service_client(fast_provider)
    # honours max-age and never refetches on an unknown kid: the schedule alone must do
    verifier = AccessTokenVerifier.discover(fast_provider.issuer, refetch_unknown_kid=False)
    issued: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            token = token_from(fast_provider.issuer, client)
            issued.append(token)
            try:
                verifier.verify(token)
            except InvalidToken as exc:
                failures.append(str(exc))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        wait_until(lambda: len(issued) > 0, 10, "no token was issued")
        first_kid = kid_of(issued[0])
        rotate_when_safe(fast_provider)
        # within the key cache every worker signs with the successor
        wait_until(lambda: first_kid not in latest_kids(issued), 10,
                   "the workers kept signing with the first key")
        second_kid = kid_of(issued[-1])
        rotate_when_safe(fast_provider)
        # and then with the newest key
        wait_until(lambda: latest_kids(issued).isdisjoint({first_kid, second_kid}), 10,
                   "the workers kept signing with an earlier key")
    finally:
        stop.set()
        worker.join(timeout=30)
    kids = [jwt.get_unverified_header(token)["kid"] for token in issued]
    assert failures == []
    assert len(issued) > 20 and len(set(kids)) == 3, set(kids)  # original and two successors
    assert verifier.jwks.fetches >= 2  # it did re-read the JWKS when max-age ran out
    old = issued[0]
    assert jwt.get_unverified_header(old)["kid"] == first_kid
    assert verifier.verify(old)["client_id"] == client["client_id"]  # retired key still verifies
    published = requests.get(fast_provider.issuer + "/.well-known/jwks.json", timeout=5).json()
    assert first_kid in {key["kid"] for key in published["keys"]}


def test_a_rotation_is_used_by_another_process_within_the_bounded_time(fast_provider):
    """A second `provider serve` on the same database picks up a rotation done elsewhere."""
    client = service_client(fast_provider)
    port = free_port()
    env = {**fast_provider.env, "PORT": str(port)}
    log = open(Path(fast_provider.instance) / "second.log", "w")  # noqa: SIM115
    second = subprocess.Popen([str(BIN / "provider"), "serve", "--port", str(port),
                               "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    other = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(other + "/.well-known/jwks.json", timeout=1)
                break
            except requests.RequestException:  # not up yet, or too busy to answer
                time.sleep(0.1)
        before = jwt.get_unverified_header(token_from(other, client))["kid"]
        rotate_when_safe(fast_provider)
        rotated_at = time.monotonic()
        while jwt.get_unverified_header(token_from(other, client))["kid"] == before:
            assert time.monotonic() - rotated_at < 5, "the other process kept the old key"
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(timeout=10)
        log.close()


def test_automatic_rotation_runs_once_across_workers(tmp_path_factory):
    """PROVIDER_KEY_ROTATION_INTERVAL: the server rotates by itself, one worker at a time."""
    # the shortest interval allowed: longer than max-age 1 s plus the 1 s key cache
    config = ("PROVIDER_DISCOVERY_MAX_AGE = 1\nPROVIDER_KEY_CACHE_SECONDS = 1\n"
              "PROVIDER_KEY_ROTATION_INTERVAL = 3\nPROVIDER_JOBS_TICK_SECONDS = 0.2\n")
    with launch_provider(tmp_path_factory.mktemp("auto-rotation"), extra_config=config) as live:
        # watched in the database (read-only), then listed once by the CLI; each
        # algorithm's next key is promoted once it has been published long enough, and
        # init made them up to a few seconds apart
        wait_until(lambda: len(query(live, "SELECT DISTINCT alg FROM signing_keys "
                                     "WHERE state = 'retired'")) == 4,
                   30, "the server never rotated every algorithm's keys")
        result = live.cli("keys", "list")
        assert result.stdout.count('"state": "active"') == 4
        assert result.stdout.count('"state": "next"') == 4


def test_the_example_resource_server_refuses_what_it_must(fast_provider):
    verifier = AccessTokenVerifier.discover(fast_provider.issuer)
    client = service_client(fast_provider)
    token = token_from(fast_provider.issuer, client)
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA"
                                                            else "BBBB")])
    with pytest.raises(InvalidToken):
        verifier.verify(tampered)
    with pytest.raises(InvalidToken, match="(?i)audience"):
        AccessTokenVerifier.discover(fast_provider.issuer, audience="https://other.example"
                                     ).verify(token)
