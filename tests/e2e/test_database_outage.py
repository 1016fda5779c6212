"""A PostgreSQL outage under a live ``provider serve``: while the database is down,
protocol endpoints answer 503 ``temporarily_unavailable`` with ``Retry-After`` and
pages a plain 503 page, quickly and never with a stack trace or driver text; when it
is back, service resumes by itself, and no half-written rotation is left."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.live_flows import auth_of, new_client, obtain_tokens, refresh
from tests.support.live_server import launch_provider, query
from tests.support.postgres_server import run_postgres_server

pytestmark = pytest.mark.e2e

ANSWER_WITHIN = 10  # seconds: an unreachable database is an answer, not a hang


@pytest.fixture
def outage(tmp_path):
    """A provider on a PostgreSQL cluster of its own, which the test stops and starts."""
    with run_postgres_server() as server:
        server.execute("CREATE DATABASE provider")
        (tmp_path / "instance").mkdir()
        with launch_provider(tmp_path / "instance",
                             {"DATABASE_URL": server.url("provider")}) as provider:
            yield server, provider


def service_token(provider, service: dict) -> requests.Response:
    return requests.post(provider.issuer + "/token", auth=auth_of(service), timeout=30,
                         data={"grant_type": "client_credentials"})


def assert_unavailable(response: requests.Response, *, page: bool = False) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) > 0
    assert "psycopg" not in response.text and "Traceback" not in response.text
    if page:
        assert response.headers["Content-Type"].startswith("text/html")
    else:
        assert response.json()["error"] == "temporarily_unavailable"


def test_an_outage_is_503_and_service_resumes_by_itself(outage):
    server, provider = outage
    service = provider.create_client("--name", "Service", "--redirect-uri",
                                     "https://service.example/cb", "--grant-type",
                                     "client_credentials", "--scope", "api")
    client = new_client(provider)
    tokens = {index: obtain_tokens(provider, client)["refresh_token"] for index in range(4)}
    assert service_token(provider, service).status_code == 200

    # refreshes keep running while the database goes away and comes back
    outcomes: list[int] = []
    stop = threading.Event()

    def keep_refreshing(index: int) -> None:
        while not stop.is_set():
            answer = refresh(provider, client, tokens[index])
            outcomes.append(answer.status_code)
            if answer.status_code == 200:
                tokens[index] = answer.json()["refresh_token"]
            time.sleep(0.05)

    threads = [threading.Thread(target=keep_refreshing, args=(i,)) for i in tokens]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        server.stop()
        for _ in range(3):
            started = time.monotonic()
            assert_unavailable(service_token(provider, service))
            assert_unavailable(requests.get(provider.issuer + "/login", timeout=30), page=True)
            ready = requests.get(provider.issuer + "/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] == "unavailable"
            assert requests.get(provider.issuer + "/healthz", timeout=30).status_code == 200
            assert time.monotonic() - started < ANSWER_WITHIN
        server.start()
        deadline = time.monotonic() + 30
        while service_token(provider, service).status_code != 200:
            assert time.monotonic() < deadline, "service did not resume"
            time.sleep(0.2)
        assert requests.get(provider.issuer + "/readyz", timeout=30).status_code == 200
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert set(outcomes) <= {200, 503}, outcomes
    assert 503 in outcomes and outcomes[-1] == 200
    # every family still has exactly one usable token, and each holder's last one works
    for index, token in tokens.items():
        answer = refresh(provider, client, token)
        assert answer.status_code == 200, (index, answer.text)
    live = query(provider, "SELECT family_id, count(*) FROM refresh_tokens "
                 "WHERE consumed_at IS NULL GROUP BY family_id")
    assert len(live) == len(tokens) and all(count == 1 for _, count in live), live
