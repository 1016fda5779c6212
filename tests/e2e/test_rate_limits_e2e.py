"""Two ``provider serve`` processes on one Redis and one database (the instance folder
copied, its SQLite file shared through ``DATABASE_URL``) hold one per-client limit:
with token requests alternating between them, the one past the limit is refused
wherever it lands."""

from __future__ import annotations

import itertools
import secrets
import shutil

import pytest
import requests

from tests.support.live_flows import TIMEOUT, auth_of
from tests.support.live_server import launch_provider

pytestmark = pytest.mark.e2e

LIMIT = 5


@pytest.fixture(scope="module")
def two_processes(redis_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("rate-limits")
    (root / "a").mkdir()
    env = {"REDIS_URL": redis_server, "DATABASE_URL": f"sqlite:///{root / 'a' / 'provider.db'}",
           "PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT": f"{LIMIT} per hour"}
    config = f'PROVIDER_RATE_LIMIT_KEY_PREFIX = "e2e-{secrets.token_hex(6)}:"\n'
    with launch_provider(root / "a", env, config, workers=1, with_alice=False) as a:
        shutil.copytree(a.instance, root / "b", ignore=shutil.ignore_patterns("*.log", "*.db*"))
        with launch_provider(root / "b", env, config, workers=1, with_alice=False) as b:
            yield a, b


def test_a_per_client_limit_holds_across_two_processes_sharing_redis(two_processes):
    a, b = two_processes
    service = a.create_client("--name", "Busy", "--redirect-uri", "http://127.0.0.1:9/cb",
                              "--grant-type", "client_credentials", "--scope", "api:read")
    answers = [(process, requests.post(process.direct + "/token", auth=auth_of(service),
                                       data={"grant_type": "client_credentials"},
                                       timeout=TIMEOUT))
               for process in itertools.islice(itertools.cycle((a, b)), LIMIT + 2)]
    assert [answer.status_code for _, answer in answers] == [200] * LIMIT + [429, 429]
    refused_by = {process.direct for process, _ in answers[LIMIT:]}
    assert refused_by == {a.direct, b.direct}  # past the limit, each process refuses
    for _, refused in answers[LIMIT:]:
        assert refused.json()["error"] == "too_many_requests"
        assert refused.headers["Cache-Control"] == "no-store"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
