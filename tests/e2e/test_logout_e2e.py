"""Logout over real HTTP against `provider serve`: RP-initiated logout with and
without a hint, and back-channel logout delivered to a real receiver that
verifies the logout token with PyJWT, failing twice with a provider restart in
between, and beside receivers that answer garbage, an over-long header or a
trickle."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
import pytest
import requests

from provider.oauth.backchannel import IN_FLIGHT
from tests.support.forms import CSRF
from tests.support.live_flows import HttpUserAgent
from tests.support.live_server import BIN, launch_provider
from tests.support.protocol import pkce_pair, query_of
from tests.support.receivers import Trickler, garbage_receiver, long_header_receiver
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class VerifyingReceiver:
    """An RP's back-channel endpoint: answers 500 ``failures`` times, then verifies
    every logout token against the provider's JWKS and answers 200."""

    def __init__(self, issuer: str, failures: int) -> None:
        self.failures, self.verified, self.attempts = failures, [], 0
        self.client_id = ""
        self.first_attempt_arrived = threading.Event()
        self.user_answered = threading.Event()  # set by the test when logout returned
        self.user_answered_first = False
        self.jwks = jwt.PyJWKClient(issuer + "/.well-known/jwks.json", cache_keys=False)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                token = form["logout_token"][0]
                receiver.attempts += 1
                if receiver.attempts == 1:
                    # Had the provider delivered inside the logout request, the user could not
                    # have had an answer yet, and this wait would run out (the provider gives
                    # up on a relying party after 5 s; this waits 4 s).
                    receiver.user_answered_first = receiver.user_answered.wait(timeout=4)
                    receiver.first_attempt_arrived.set()
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(token, receiver.jwks.get_signing_key_from_jwt(token).key,
                                    algorithms=[header["alg"]], audience=receiver.client_id,
                                    issuer=issuer)
                assert header["typ"] == "logout+jwt" and BACKCHANNEL_EVENT in claims["events"]
                receiver.verified.append(claims)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def sign_in(provider, client: dict, agent: HttpUserAgent | None = None):
    verifier, challenge = pkce_pair()
    agent = agent or HttpUserAgent(provider.issuer)
    response = agent.authorize({
        "response_type": "code", "client_id": client["client_id"], "scope": "openid",
        "redirect_uri": client["redirect_uris"][0], "code_challenge": challenge,
        "code_challenge_method": "S256"}, "alice", PASSWORD)
    code = query_of(response.headers["Location"])["code"]
    tokens = requests.post(provider.issuer + "/token", timeout=10,
                           auth=(client["client_id"], client["client_secret"]),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": client["redirect_uris"][0],
                                 "code_verifier": verifier}).json()
    return agent, tokens


def test_rp_initiated_logout_over_http(live_provider):
    discovery = live_provider.discovery()
    client = live_provider.create_client(
        "--name", "RP", "--redirect-uri", "http://127.0.0.1:9/cb", "--trusted",
        "--post-logout-redirect-uri", "http://127.0.0.1:9/bye")
    agent, tokens = sign_in(live_provider, client)
    end = discovery["end_session_endpoint"]
    # an unregistered post-logout URI: refused, no redirect, still signed in
    refused = agent.http.get(end, params={"id_token_hint": tokens["id_token"],
                                          "post_logout_redirect_uri": "http://127.0.0.1:9/x"},
                             allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "Location" not in refused.headers
    # no hint: the user confirms on a CSRF-protected page
    page = agent.http.get(end, params={"client_id": client["client_id"]}, timeout=10)
    assert page.status_code == 200 and "Sign out?" in page.text
    done = agent.http.post(end, allow_redirects=False, timeout=10, data={
        "csrf_token": CSRF.search(page.text).group(1), "decision": "logout",
        "client_id": client["client_id"], "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
        "state": "s"})
    assert done.headers["Location"] == "http://127.0.0.1:9/bye?state=s"
    info = requests.get(discovery["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 401
    # with a hint for the current session: no confirmation, straight back to the RP
    agent, tokens = sign_in(live_provider, client, agent)
    direct = agent.http.get(end, allow_redirects=False, timeout=10, params={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/bye"})
    assert direct.status_code == 303 and direct.headers["Location"] == "http://127.0.0.1:9/bye"


def start_serve(provider) -> subprocess.Popen:
    port = provider.issuer.rsplit(":", 1)[1]
    process = subprocess.Popen([str(BIN / "provider"), "serve", "--port", port, "--workers", "2"],
                               env=provider.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            requests.get(provider.issuer + "/.well-known/jwks.json", timeout=1)
            return process
        except requests.RequestException:  # not up yet, or too busy to answer
            time.sleep(0.1)
    process.kill()
    pytest.fail("the provider did not come back")


def test_backchannel_logout_survives_failures_and_a_restart(tmp_path_factory):
    with launch_provider(tmp_path_factory.mktemp("backchannel"),
                         extra_config="PROVIDER_JOBS_TICK_SECONDS = 1\n") as live:
        receiver = VerifyingReceiver(live.issuer, failures=2)
        try:
            client = live.create_client("--name", "RP", "--redirect-uri", "http://127.0.0.1:9/cb",
                                        "--trusted", "--backchannel-logout-uri", receiver.url)
            receiver.client_id = client["client_id"]
            agent, tokens = sign_in(live, client)
            started = time.monotonic()
            logged_out = agent.http.get(live.discovery()["end_session_endpoint"], timeout=30,
                                        params={"id_token_hint": tokens["id_token"]})
            assert logged_out.status_code == 200
            receiver.user_answered.set()
            assert receiver.first_attempt_arrived.wait(timeout=30)
            assert receiver.user_answered_first  # the user never waited on the relying party
            while '"attempts": 1' not in live.cli("logout", "deliveries").stdout:
                assert time.monotonic() - started < 30  # the first failure is recorded
                time.sleep(0.2)
            live.process.terminate()  # a restart between the failed attempts
            live.process.wait(timeout=10)
            restarted = start_serve(live)
            try:
                while not receiver.verified:  # backoff: 5 s, then 10 s
                    assert time.monotonic() - started < 90, receiver.attempts
                    time.sleep(0.2)
                while '"status": "delivered"' not in live.cli("logout", "deliveries").stdout:
                    assert time.monotonic() - started < 100  # the outcome is recorded too
                    time.sleep(0.2)
            finally:
                restarted.terminate()
                restarted.wait(timeout=10)
            id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
            assert receiver.verified[0]["sid"] == id_claims["sid"]
            # two refusals then success; on a loaded machine an attempt may also time out on
            # the provider's side (5 s) and be retried, so the receiver can count one more.
            # Every attempt it saw is recorded: each is counted when claimed, before the
            # POST, and no two workers ever attempt one delivery at once.
            assert receiver.attempts >= 3
            listed = json.loads(live.cli("logout", "deliveries").stdout.splitlines()[0])
            assert listed["status"] == "delivered" and listed["attempts"] >= receiver.attempts
        finally:
            receiver.server.shutdown()
            receiver.server.server_close()


def test_backchannel_logout_reaches_an_honest_relying_party_beside_broken_ones(
        tmp_path_factory):
    with launch_provider(tmp_path_factory.mktemp("backchannel-broken"), extra_config=(
            "PROVIDER_JOBS_TICK_SECONDS = 1\nPROVIDER_OUTBOUND_DEADLINE_SECONDS = 2\n")) as live:
        refused = live.cli("clients", "create", "--name", "RP", "--redirect-uri",
                           "http://127.0.0.1:9/cb", "--backchannel-logout-uri",
                           "http://127.0.0.1:99999/backchannel")
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith("provider: the back-channel logout URI has an "
                                         "invalid port") and len(refused.stderr.splitlines()) == 1
        honest = VerifyingReceiver(live.issuer, failures=0)
        broken = {"garbage": garbage_receiver(), "long header": long_header_receiver(),
                  "trickler": Trickler(interval=1, max_bytes=20)}
        try:
            clients = {name: live.create_client(
                "--name", name, "--redirect-uri", "http://127.0.0.1:9/cb", "--trusted",
                "--backchannel-logout-uri", receiver.url)
                for name, receiver in {**broken, "honest": honest}.items()}
            honest.client_id = clients["honest"]["client_id"]
            agent = None
            for client in clients.values():  # one session signs in to each
                agent, tokens = sign_in(live, client, agent)
            honest.user_answered.set()
            logged_out = agent.http.get(live.discovery()["end_session_endpoint"], timeout=30,
                                        params={"id_token_hint": tokens["id_token"]})
            assert logged_out.status_code == 200
            started = time.monotonic()

            def listed() -> dict[str, dict]:
                rows = map(json.loads, live.cli("logout", "deliveries").stdout.splitlines())
                names = {client["client_id"]: name for name, client in clients.items()}
                return {names[row["client_id"]]: row for row in rows}

            rows = listed()
            while rows["honest"]["status"] != "delivered" or any(
                    rows[name]["last_error"] in (None, IN_FLIGHT) for name in broken):
                assert time.monotonic() - started < 60, rows  # each outcome is recorded
                time.sleep(0.2)
                rows = listed()
            assert honest.verified
            assert rows["garbage"]["last_error"].startswith("BadStatusLine: ")
            assert rows["long header"]["last_error"].startswith("LineTooLong: ")
            assert rows["trickler"]["last_error"] == (
                "DeadlineExceeded: no complete answer within 2 s")
            # every attempt a relying party saw is on record: counted when claimed, so
            # a listing taken after the receivers' counts holds at least as many
            seen = {name: receiver.connections for name, receiver in broken.items()}
            seen["honest"] = honest.attempts
            later = listed()
            for name, count in seen.items():
                assert later[name]["attempts"] >= count >= 1, name
            for receiver in broken.values():  # two workers, one claim at a time
                assert receiver.most_open_at_once == 1
        finally:
            honest.server.shutdown()
            honest.server.server_close()
            broken["trickler"].release.set()
            for receiver in broken.values():
                receiver.close()
