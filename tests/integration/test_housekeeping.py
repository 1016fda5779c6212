"""provider purge (and its hourly job) and provider audit."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from provider import clock, jobs, management
from provider.cli import main
from provider.extensions import db
from provider.models import (
    AuthorizationCode,
    DeniedAccessToken,
    IssuedAccessToken,
    RefreshTokenFamily,
)
from tests.support.flows import obtain_code, token_request
from tests.support.protocol import basic_auth, pkce_pair

DAY = 24 * 3600


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


def flow(client, browser, rp: dict) -> dict:
    verifier, challenge = pkce_pair()
    code = obtain_code(browser, rp, challenge, scope="openid offline_access")
    return token_request(client, rp, code, verifier).get_json()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_purge_removes_only_what_can_never_be_used_again(app, client, browser, alice, rp):
    tokens = flow(client, browser, rp)
    client.post("/revoke", headers=basic_auth(rp["client_id"], rp["client_secret"]),
                data={"token": tokens["access_token"]})
    assert count(app, DeniedAccessToken) == 1
    with app.app_context():
        fresh = management.purge()
    assert fresh["refresh_token_families"] == 0 and fresh["issued_access_tokens"] == 0
    assert count(app, RefreshTokenFamily) == 1 and count(app, AuthorizationCode) == 1
    with clock.advance(app, 31 * DAY), app.app_context():  # past every lifetime and retention
        old = management.purge()
    assert old["authorization_codes"] == 1 and old["refresh_token_families"] == 1
    assert old["issued_access_tokens"] >= 1 and old["denied_access_tokens"] == 1
    assert count(app, RefreshTokenFamily) == 0 and count(app, IssuedAccessToken) == 0


def test_the_purge_job_runs_once_an_hour_across_processes(app):
    assert jobs.purge_hourly(app) is not None
    assert jobs.purge_hourly(app) is None  # the lease is kept for the hour
    with clock.advance(app, 3601):
        assert jobs.purge_hourly(app) is not None


def test_audit_trail_is_queryable_by_user_and_client(app, client, browser, alice, rp, instance):
    flow(client, browser, rp)
    client.post("/login", data={"username": "alice", "password": "wrong"})  # no CSRF: refused
    (instance / "config.py").write_text("PROVIDER_PASSWORD_TIME_COST = 1\n"
                                        "PROVIDER_PASSWORD_MEMORY_COST = 8\n"
                                        "PROVIDER_PASSWORD_PARALLELISM = 1\n")
    env = {"PROVIDER_INSTANCE_PATH": str(instance)}
    by_user = CliRunner().invoke(main, ["audit", "--user", "alice"], env=env)
    assert by_user.exit_code == 0, by_user.stderr
    events = [json.loads(line)["event"] for line in by_user.stdout.splitlines()]
    assert "login_succeeded" in events and "tokens_issued" in events
    by_client = CliRunner().invoke(main, ["audit", "--client", rp["client_id"],
                                          "--event", "tokens_issued"], env=env)
    rows = [json.loads(line) for line in by_client.stdout.splitlines()]
    assert rows and all(r["client_id"] == rp["client_id"] for r in rows)
    assert all(r["details"]["grant_type"] == "authorization_code" for r in rows)
    unknown = CliRunner().invoke(main, ["audit", "--user", "nobody"], env=env)
    assert unknown.exit_code == 1 and unknown.stderr.startswith("provider: no user")
    purged = CliRunner().invoke(main, ["purge"], env=env)
    assert purged.exit_code == 0 and "authorization_codes" in json.loads(purged.stdout)
