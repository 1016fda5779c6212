"""Login throttling over real HTTP against ``provider serve`` (two worker
processes on one SQLite file, the counters in the database or in a real Redis):
wrong passwords from eight threads, each request on its own connection, end
throttled after exactly the free attempts in total, so the counter is the shared
store's and not a worker's; the right password is then refused until ``provider
users unlock`` (another process) clears it.

The database is only ever read here (read-only connection)."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from contextlib import closing

import pytest
import redis
import requests

from tests.support.forms import CSRF
from tests.support.live_server import launch_provider
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e

THREADS = 8
PER_THREAD = 8
FREE = 5  # PROVIDER_LOGIN_FREE_ATTEMPTS, the default
TIMEOUT = 60


REDIS_PREFIX = "throttle-e2e:"


@pytest.fixture(scope="module", params=["database", "redis"])
def provider(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    # a first back-off of ten minutes: no block can end while the test runs, so the
    # number of verified attempts depends on the counter alone, never on timing
    config = "PROVIDER_LOGIN_BACKOFF_SECONDS = 600\n"
    env = {}
    if request.param == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_server")
        config += f"PROVIDER_LOGIN_THROTTLE_KEY_PREFIX = {REDIS_PREFIX!r}\n"
    with launch_provider(tmp_path_factory.mktemp("throttle-instance"), env, config) as live:
        yield live


def sign_in(provider, password: str) -> requests.Response:
    """A fresh browser: GET the form, POST it once (each browser has its own
    connection, taken by either worker)."""
    http = requests.Session()
    page = http.get(provider.issuer + "/login", timeout=TIMEOUT)
    page.raise_for_status()
    return http.post(provider.issuer + "/login", allow_redirects=False, timeout=TIMEOUT, data={
        "csrf_token": CSRF.search(page.text).group(1), "username": "alice",
        "password": password, "action": "login"})


def counters(provider) -> list[int]:
    """The failures of every counter, from the store the provider uses."""
    url = provider.env.get("REDIS_URL")
    if url:
        with redis.Redis.from_url(url) as client:
            return sorted(int(client.hget(key, "f")) for key in client.keys(REDIS_PREFIX + "*")
                          if client.type(key) == b"hash")
    return database_counters(provider)


def database_counters(provider) -> list[int]:
    uri = f"file:{provider.instance / 'provider.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as database:
        return sorted(row[0] for row in database.execute("SELECT failures FROM login_throttles"))


def test_guessing_from_many_threads_over_two_workers_shares_one_counter(provider):
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def guess() -> None:
        for _ in range(PER_THREAD):
            response = sign_in(provider, "not the password")
            marker = ("incorrect" if "Incorrect username or password." in response.text
                      else "throttled" if "Too many failed sign-in attempts." in response.text
                      else response.text[:200])
            with lock:
                outcomes[(response.status_code, marker)] += 1

    threads = [threading.Thread(target=guess) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * PER_THREAD)
    assert not any(thread.is_alive() for thread in threads)

    assert outcomes == {(200, "incorrect"): FREE,
                        (429, "throttled"): THREADS * PER_THREAD - FREE}, outcomes
    assert counters(provider) == [FREE, FREE]  # alice's pair and alice's account
    if provider.env.get("REDIS_URL"):
        assert database_counters(provider) == []  # Redis holds them, the database none

    refused = sign_in(provider, PASSWORD)
    assert refused.status_code == 429 and "Location" not in refused.headers
    assert int(refused.headers["Retry-After"]) > 0

    unlocked = provider.cli("users", "unlock", "alice")
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout.strip() == "unlocked alice"
    assert counters(provider) == []

    signed_in = sign_in(provider, PASSWORD)
    assert signed_in.status_code == 303, signed_in.text
    assert counters(provider) == []
