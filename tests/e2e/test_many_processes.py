"""Three ``provider serve`` processes on one PostgreSQL, each with its own copy of the
instance folder, behind a real nginx at the issuer's address, behave as one
provider: a login through one, the code exchanged on another, the refresh on a
third, UserInfo and revocation on any; sessions, consents, keys, the deny-list and
the back-channel outbox (each logout delivered once) are shared."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests

from tests.support.live_flows import TIMEOUT, HttpUserAgent, auth_of
from tests.support.live_server import free_port, launch_provider
from tests.support.nginx import run_nginx
from tests.support.protocol import pkce_pair, query_of
from tests.support.receivers import Receiver
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:9/cb"
RACERS = 50
SHARED_CONFIG = "PROVIDER_KEY_CACHE_SECONDS = 1\nPROVIDER_OUTBOUND_ALLOW_PRIVATE = True\n"


@pytest.fixture(scope="module")
def cluster(postgres_server, tmp_path_factory):
    """(nginx URL, [three LiveProviders]) on one PostgreSQL database."""
    postgres_server.execute("CREATE DATABASE cluster")
    env = {"DATABASE_URL": postgres_server.url("cluster"), "PROVIDER_JOBS_TICK_SECONDS": "1"}
    issuer = f"http://127.0.0.1:{free_port()}"
    root = tmp_path_factory.mktemp("cluster")
    (root / "a").mkdir()
    with launch_provider(root / "a", env, SHARED_CONFIG, issuer=issuer, workers=1) as a:
        shutil.copytree(a.instance, root / "b", ignore=shutil.ignore_patterns("*.log"))
        shutil.copytree(a.instance, root / "c", ignore=shutil.ignore_patterns("*.log"))
        with launch_provider(root / "b", env, SHARED_CONFIG, issuer=issuer, workers=1,
                             with_alice=False) as b, \
                launch_provider(root / "c", env, SHARED_CONFIG, issuer=issuer, workers=1,
                                with_alice=False) as c:
            upstreams = [p.direct.removeprefix("http://") for p in (a, b, c)]
            with run_nginx(int(issuer.rsplit(":", 1)[1]), upstreams) as proxy:
                assert proxy == issuer
                yield issuer, [a, b, c]


def authorize(agent: HttpUserAgent, client: dict, **extra) -> requests.Response:
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid profile offline_access",
              "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    response = agent.authorize(params, "alice", PASSWORD)
    response.verifier = verifier
    return response


def exchange(base: str, client: dict, response: requests.Response) -> dict:
    code = query_of(response.headers["Location"])["code"]
    answer = requests.post(base + "/token", auth=auth_of(client), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": response.verifier})
    assert answer.status_code == 200, answer.text
    return answer.json()


def userinfo(base: str, access_token: str) -> int:
    return requests.get(base + "/userinfo", timeout=TIMEOUT,
                        headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_discovery_and_keys_are_the_same_everywhere(cluster):
    issuer, processes = cluster
    answers = [requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
               for base in [issuer] + [p.direct for p in processes]]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["issuer"] == issuer and answers[0]["token_endpoint"].startswith(issuer)
    jwks = {requests.get(p.direct + "/.well-known/jwks.json", timeout=10).text
            for p in processes}
    assert len(jwks) == 1


def test_login_code_refresh_userinfo_and_revocation_on_different_processes(cluster):
    issuer, (a, b, c) = cluster
    client = a.create_client("--name", "Spread", "--redirect-uri", REDIRECT_URI,
                             "--scope", "openid profile offline_access")
    agent = HttpUserAgent(issuer, via=a.direct)
    tokens = exchange(b.direct, client, authorize(agent, client))  # login on a, code on b
    refreshed = requests.post(c.direct + "/token", auth=auth_of(client), timeout=TIMEOUT,
                              data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    successor = refreshed.json()
    assert [userinfo(p.direct, successor["access_token"]) for p in (a, b, c)] == [200] * 3
    # the session and the consent made on a: prompt=none on c needs neither page again
    on_c = HttpUserAgent(issuer, via=c.direct)
    on_c.http.cookies = agent.http.cookies
    quiet = authorize(on_c, client, prompt="none")
    assert "code" in query_of(quiet.headers["Location"]), quiet.headers["Location"]
    # revoked on a: the family is dead on b, its access token refused everywhere
    revoked = requests.post(a.direct + "/revoke", auth=auth_of(client), timeout=TIMEOUT,
                            data={"token": successor["refresh_token"]})
    assert revoked.status_code == 200
    again = requests.post(b.direct + "/token", auth=auth_of(client), timeout=TIMEOUT,
                          data={"grant_type": "refresh_token",
                                "refresh_token": successor["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert [userinfo(p.direct, successor["access_token"]) for p in (a, b, c)] == [401] * 3


def test_fifty_concurrent_redemptions_of_one_code_on_three_processes_have_one_winner(cluster):
    issuer, processes = cluster
    client = processes[1].create_client("--name", "Once", "--redirect-uri", REDIRECT_URI,
                                        "--trusted")
    response = authorize(HttpUserAgent(issuer, via=processes[1].direct), client)
    code = query_of(response.headers["Location"])["code"]
    barrier, answers = threading.Barrier(RACERS), [None] * RACERS

    def redeem(index: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        answers[index] = requests.post(
            processes[index % 3].direct + "/token", auth=auth_of(client), timeout=TIMEOUT,
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": REDIRECT_URI, "code_verifier": response.verifier})

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (RACERS - 1), statuses
    assert {answer.json()["error"] for answer in answers if answer.status_code == 400} == {
        "invalid_grant"}


def test_a_rotated_key_is_published_and_used_by_every_process(cluster):
    issuer, (a, b, c) = cluster
    before = requests.get(a.direct + "/.well-known/jwks.json", timeout=10).json()
    rotated = c.cli("keys", "rotate", "--force")
    assert rotated.returncode == 0, rotated.stderr
    deadline = time.monotonic() + 15
    while True:
        sets = [requests.get(p.direct + "/.well-known/jwks.json", timeout=10).json()
                for p in (a, b, c)]
        kids = [{key["kid"] for key in jwks["keys"]} for jwks in sets]
        if all(k == kids[0] for k in kids) and kids[0] != {k["kid"] for k in before["keys"]}:
            break
        assert time.monotonic() < deadline, kids
        time.sleep(0.5)


def test_one_logout_is_delivered_once_though_every_process_works_the_outbox(cluster):
    issuer, (a, b, c) = cluster
    receiver = Receiver()
    try:
        client = a.create_client("--name", "Backchannel", "--redirect-uri", REDIRECT_URI,
                                 "--trusted", "--backchannel-logout-uri", receiver.url)
        agent = HttpUserAgent(issuer, via=b.direct)
        tokens = exchange(c.direct, client, authorize(agent, client))
        end_session = requests.get(issuer + "/.well-known/openid-configuration",
                                   timeout=10).json()["end_session_endpoint"]
        ended = agent.http.get(a.direct + end_session.removeprefix(issuer), timeout=10,
                               allow_redirects=False,
                               params={"id_token_hint": tokens["id_token"]})
        assert ended.status_code in (200, 303), ended.text
        assert receiver.received.wait(timeout=30)
        time.sleep(3)  # three job ticks on every process: nothing is sent twice
        assert len(receiver.tokens) == 1
    finally:
        receiver.close()
