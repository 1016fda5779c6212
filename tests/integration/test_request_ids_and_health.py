"""``X-Request-ID`` on every response, ``/healthz`` and ``/readyz``, and the client
address behind trusted proxies (PROVIDER_TRUSTED_PROXIES), on both databases."""

from __future__ import annotations

import os
import re
import signal

import pytest
from sqlalchemy import text

from provider.extensions import db
from provider.models import AuditEvent, LoginSession
from tests.support.flows import obtain_code
from tests.support.protocol import basic_auth

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def rp(make_client):
    return make_client(name="RP", trusted=True)


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/healthz",
                                  "/no/such/page", "/token"])
def test_every_response_has_a_request_id_and_a_sane_one_is_kept(client, path):
    fresh = client.get(path)
    assert GENERATED.fullmatch(fresh.headers["X-Request-ID"])
    other = client.get(path)
    assert other.headers["X-Request-ID"] != fresh.headers["X-Request-ID"]
    kept = client.get(path, headers={"X-Request-ID": "lb-4f1c:2a/7=Z@x.y_z-0"})
    assert kept.headers["X-Request-ID"] == "lb-4f1c:2a/7=Z@x.y_z-0"


@pytest.mark.parametrize("offered", ["", "x" * 129, "a b", "a\"b", "<script>", "é", "a,b",
                                     "a;b"])
def test_an_insane_request_id_is_replaced(client, offered):
    answer = client.get("/healthz", headers={"X-Request-ID": offered})
    assert GENERATED.fullmatch(answer.headers["X-Request-ID"])


def test_an_error_answer_carries_the_id_too(client, rp):
    answer = client.post("/token", headers={**basic_auth(rp["client_id"], "wrong"),
                                            "X-Request-ID": "trace-1"},
                         data={"grant_type": "authorization_code", "code": "x"})
    assert answer.status_code == 401
    assert answer.headers["X-Request-ID"] == "trace-1"


def test_healthz_is_alive_without_the_database(app, client):
    with app.app_context():
        db.engine.dispose()
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_at_the_migration_head(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"status": "ready",
                                 "checks": {"database": "ok", "schema": "ok"}}
    assert answer.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_while_the_schema_is_not_at_the_head(app, client):
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = 'd67ea0786020'"))
        db.session.commit()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json() == {"status": "unavailable",
                                     "checks": {"database": "ok", "schema": "not_at_head"}}
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :head"),
                               {"head": head})
            db.session.commit()
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_without_a_schema(app, client):
    with app.app_context():
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"] == {"database": "ok", "schema": "not_at_head"}


@pytest.mark.sqlite_only  # PostgreSQL stopped mid-run: tests/e2e/test_database_outage.py
def test_readyz_is_503_without_the_database_and_says_no_more(app, client, instance):
    with app.app_context():
        db.engine.dispose()
    database = instance / "provider.db"
    database.rename(instance / "moved.db")
    database.mkdir()  # where the file was, nothing SQLite can open
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json() == {"status": "unavailable",
                                     "checks": {"database": "unavailable", "schema": "unknown"}}
        assert "provider.db" not in answer.get_data(as_text=True)
        assert client.get("/healthz").status_code == 200
    finally:
        database.rmdir()
        (instance / "moved.db").rename(database)
    assert client.get("/readyz").status_code == 200


def _sign_in_from(client, browser, rp, forwarded_for: str | None) -> tuple[str, str]:
    """(the login session's address, the login audit row's), signing in with the
    given X-Forwarded-For on every request."""
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    obtain_code(browser, rp)
    login = db.session.scalars(db.select(LoginSession)).one()
    audit = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.event == "login_succeeded")).first()
    return login.ip, audit.ip if audit is not None else login.ip


def test_without_trusted_proxies_a_forwarded_address_is_ignored(app, client, browser, alice,
                                                                rp):
    with app.app_context():
        assert _sign_in_from(client, browser, rp, "198.51.100.7") == ("127.0.0.1",
                                                                      "127.0.0.1")


@pytest.mark.config(PROVIDER_TRUSTED_PROXIES=["127.0.0.1"])
def test_behind_a_trusted_proxy_the_appended_address_is_the_client(app, client, browser,
                                                                   alice, rp):
    with app.app_context():
        # the caller's own "6.6.6.6" came first; the proxy appended what it saw
        assert _sign_in_from(client, browser, rp, "6.6.6.6, 198.51.100.7") == (
            "198.51.100.7", "198.51.100.7")


@pytest.mark.config(PROVIDER_TRUSTED_PROXIES=["127.0.0.1"],
                    PROVIDER_FORWARDED_HEADER="forwarded")
def test_the_forwarded_header_when_configured(app, client, browser, alice, rp):
    client.environ_base["HTTP_FORWARDED"] = 'for="198.51.100.8:5555";proto=https'
    with app.app_context():
        assert _sign_in_from(client, browser, rp, "6.6.6.6")[0] == "198.51.100.8"


@pytest.mark.config(PROVIDER_TRUSTED_PROXIES=["127.0.0.1"])
def test_forwarded_host_and_proto_change_no_url(app, client):
    plain = client.get("/.well-known/openid-configuration").get_json()
    forwarded = client.get("/.well-known/openid-configuration", headers={
        "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/x", "Forwarded": "host=evil.example;proto=https"}).get_json()
    assert forwarded == plain
    assert "evil.example" not in str(forwarded)


@pytest.mark.sqlite_only
def test_readyz_checks_redis_when_one_is_configured(instance, tmp_path):
    from provider import create_app
    from tests.support.redis_server import redis_process
    from tests.support.settings import CHEAP_HASHING, ISSUER

    with redis_process(tmp_path) as (url, process):
        app = create_app({"PROVIDER_INSTANCE_PATH": str(instance), "PROVIDER_ISSUER": ISSUER,
                          "REDIS_URL": url, "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.3,
                          **CHEAP_HASHING})
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json()["checks"] == {"database": "ok", "schema": "ok", "redis": "ok"}
        os.kill(process.pid, signal.SIGSTOP)  # Redis stops answering
        try:
            away = client.get("/readyz")
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert away.status_code == 503
        assert away.get_json()["checks"] == {"database": "ok", "schema": "ok",
                                             "redis": "unavailable"}
        assert url not in away.get_data(as_text=True)
        assert client.get("/readyz").status_code == 200
        with app.app_context():
            db.engine.dispose()
