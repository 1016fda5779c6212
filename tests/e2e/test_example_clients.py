"""The example native client (clients/native_app.py) run for real against the
live provider: PKCE, loopback redirect, token exchange, UserInfo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.live_flows import HttpUserAgent
from tests.support.live_server import free_port
from tests.support.settings import PASSWORD

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "clients" / "native_app.py"


def test_native_app_example(live_provider):
    port = free_port()
    client = live_provider.create_client("--name", "Native example", "--public",
                                         "--redirect-uri", f"http://127.0.0.1:{port}/callback")
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--issuer", live_provider.issuer,
         "--client-id", client["client_id"], "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = ""
        while "/authorize?" not in url:
            url = process.stdout.readline().strip()
            assert url or process.poll() is None, process.stderr.read()
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        agent = HttpUserAgent(live_provider.issuer)
        redirect = agent.authorize(params, "alice", PASSWORD)
        assert redirect.status_code == 302
        callback = requests.get(redirect.headers["Location"], timeout=10)
        assert callback.status_code == 200
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    decoder = json.JSONDecoder()
    tokens, end = decoder.raw_decode(out.strip())
    userinfo, _ = decoder.raw_decode(out.strip()[end:].strip())
    assert tokens["token_type"] == "Bearer" and tokens["id_token"]
    assert userinfo["sub"] == live_provider.users["alice"]["sub"]
    assert userinfo["email"] == "alice@example.com"
