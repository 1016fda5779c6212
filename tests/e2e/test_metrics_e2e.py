"""``provider serve --workers 2``: /metrics sums both worker processes, whichever one
answers the scrape and whichever answered each request; a worker that is replaced
keeps its counts and drops its pool gauge; the run's metrics directory, private to
it, is gone when the server stops."""

from __future__ import annotations

import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live_server import LiveProvider, launch_provider

pytestmark = pytest.mark.e2e

TOKEN = "e2e-metrics-scraper-token-0123"
FIRST_BATCH = 20
MORE = 10
MAX_REQUESTS = 200  # the kernel spreads connections: two workers will have answered long before
SCRAPES = 6
ISSUED = ("provider_tokens_issued_total", {"grant_type": "client_credentials"})
BOUND_SECONDS = 30.0


def token_requests(provider: LiveProvider, service: dict, count: int) -> None:
    """``count`` client_credentials requests, four at a time, each on its own connection."""
    def one(_: int) -> int:
        return requests.post(provider.issuer + "/token", timeout=30,
                             auth=(service["client_id"], service["client_secret"]),
                             data={"grant_type": "client_credentials"}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(one, range(count))) == {200}


JWKS_REQUESTS = 12


def scraped(provider: LiveProvider, name: str, labels: dict[str, str]) -> float:
    response = requests.get(provider.issuer + "/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def metrics_directory(tmp: Path) -> Path:
    found = list(tmp.glob("provider-metrics-*"))
    assert len(found) == 1, found
    assert found[0].stat().st_mode & 0o077 == 0  # the run's own, private directory
    return found[0]


def issued_by_process(directory: Path, scratch: Path) -> dict[int, float]:
    """Tokens issued as each worker process's own counter file says."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        pid = int(file.stem.rpartition("_")[2])
        alone = scratch / str(pid)
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[pid] = registry.get_sample_value(*ISSUED) or 0.0
    return counts


def test_the_counts_are_the_sum_of_both_workers(tmp_path):
    tmp, instance = tmp_path / "tmp", tmp_path / "instance"
    tmp.mkdir()
    instance.mkdir()
    env = {"PROVIDER_METRICS_TOKEN": TOKEN, "TMPDIR": str(tmp)}
    with launch_provider(instance, env, workers=2, with_alice=False) as provider:
        service = provider.create_client(
            "--name", "Metrics service", "--redirect-uri", "http://127.0.0.1:9/cb",
            "--grant-type", "client_credentials", "--scope", "api:read")
        directory = metrics_directory(tmp)
        token_requests(provider, service, FIRST_BATCH)
        sent = FIRST_BATCH
        while len([n for n in issued_by_process(directory, tmp_path / "a").values() if n]) < 2:
            assert sent < MAX_REQUESTS, "one worker answered every request"
            token_requests(provider, service, MORE)
            sent += MORE
        assert sum(issued_by_process(directory, tmp_path / "b").values()) == sent
        # each scrape, answered by either worker, shows every request of both
        assert [scraped(provider, *ISSUED) for _ in range(SCRAPES)] == [sent] * SCRAPES
        requests_ok = ("provider_http_requests_total",
                       {"rule": "/token", "method": "POST", "status": "200"})
        assert scraped(provider, *requests_ok) == sent
        # the JWKS answered by the app, then from memory by the front: all counted
        jwks = ("provider_http_requests_total",
                {"rule": "/.well-known/jwks.json", "method": "GET", "status": "200"})
        before = scraped(provider, *jwks)
        for _ in range(JWKS_REQUESTS):
            assert requests.get(provider.issuer + "/.well-known/jwks.json", timeout=10).ok
        assert scraped(provider, *jwks) == before + JWKS_REQUESTS

        victim = max(issued_by_process(directory, tmp_path / "c"))
        replaced(provider, victim, directory)
        assert scraped(provider, *ISSUED) == sent  # a dead worker's counts stay
    assert not directory.exists()  # removed when the server stopped


def replaced(provider: LiveProvider, victim: int, directory: Path) -> None:
    """Kill worker ``victim`` and scrape until a scrape has dropped its pool gauge."""
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + BOUND_SECONDS
    while (directory / f"gauge_livesum_{victim}.db").exists():
        assert time.monotonic() < deadline, f"the pool gauge of worker {victim} stayed"
        with suppress(requests.RequestException):  # the killed worker held the connection
            scraped(provider, *ISSUED)
        time.sleep(0.2)
    assert provider.process.poll() is None
