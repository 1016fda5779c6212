"""The ``provider`` command (click group ``provider.cli:main``) through CliRunner,
against the test's instance folder; its effects are checked through the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provider import config as provider_config
from provider.cli import main
from provider.extensions import db
from provider.models import Client, LoginSession, SigningKey, User
from tests.support.forms import Browser
from tests.support.protocol import basic_auth
from tests.support.settings import PASSWORD

CHEAP_CONFIG = """\
PROVIDER_PASSWORD_TIME_COST = 1
PROVIDER_PASSWORD_MEMORY_COST = 8
PROVIDER_PASSWORD_PARALLELISM = 1
"""


@pytest.fixture
def cli(instance: Path, operator_environment: None, monkeypatch: pytest.MonkeyPatch):
    """Run ``provider ARGS`` against the test's instance; returns the click Result."""
    monkeypatch.delenv("PROVIDER_INSTANCE_PATH", raising=False)
    (instance / "config.py").write_text(CHEAP_CONFIG)

    def run(*args: str, stdin: str | None = None, env: dict | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(main, list(args), input=stdin,
                             env={"PROVIDER_INSTANCE_PATH": str(instance), **(env or {})})

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return result


def failed(result: Result) -> str:
    """The one-line error of a failed command."""
    assert result.exit_code != 0, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("provider: "), result.stderr
    return lines[0]


def create_user(cli, username: str = "alice", password: str = PASSWORD) -> dict:
    result = ok(cli("users", "create", username, "--password-stdin", "--email",
                    f"{username[0]}@x.io", "--role", "admin", stdin=password + "\n"))
    return json.loads(result.stdout)


def create_client(cli, *args: str) -> dict:
    result = ok(cli("clients", "create", "--name", "CLI app", *args))
    return json.loads(result.stdout)


def login(client, username: str = "alice", password: str = PASSWORD):
    return Browser(client).login("/login", username=username, password=password)


def logged_in(client) -> bool:
    with client.session_transaction() as session:
        return isinstance(session.get("sid"), str)


# --- init ---------------------------------------------------------------------------


def test_init_is_idempotent(app, cli, instance):
    secrets_before = {name: (instance / name).read_text()
                      for name in (provider_config.SECRET_KEY_FILE, provider_config.KEK_FILE)}
    with app.app_context():
        keys_before = db.session.scalars(db.select(SigningKey.kid)).all()
    for _ in range(2):
        result = ok(cli("init"))
        assert "created" not in result.stdout
        assert "database ready" in result.stdout
    for name, text in secrets_before.items():
        assert (instance / name).read_text() == text
    with app.app_context():
        assert db.session.scalars(db.select(SigningKey.kid)).all() == keys_before


def test_init_creates_a_fresh_instance_once(tmp_path, monkeypatch):
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.py").write_text(CHEAP_CONFIG)
    env = {"PROVIDER_INSTANCE_PATH": str(fresh)}
    first = CliRunner().invoke(main, ["init"], env=env)
    assert first.exit_code == 0, (first.output, first.stderr)
    assert "created signing key" in first.stdout
    for name in (provider_config.SECRET_KEY_FILE, provider_config.KEK_FILE):
        assert (fresh / name).stat().st_mode & 0o777 == 0o600
        assert str(fresh / name) in first.stdout
    second = CliRunner().invoke(main, ["init"], env=env)
    assert second.exit_code == 0, (second.output, second.stderr)
    assert "created" not in second.stdout
    keys = CliRunner().invoke(main, ["keys", "list"], env=env)
    listed = [json.loads(line) for line in keys.stdout.strip().splitlines()]
    # every algorithm signs from the start and already has its successor published
    assert sorted((k["alg"], k["state"]) for k in listed) == sorted(
        (alg, state) for alg in ("RS256", "PS256", "ES256", "EdDSA")
        for state in ("active", "next"))


def test_init_refuses_to_replace_a_lost_key_encryption_key(tmp_path, monkeypatch):
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.py").write_text(CHEAP_CONFIG)
    env = {"PROVIDER_INSTANCE_PATH": str(fresh)}
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    (fresh / provider_config.KEK_FILE).unlink()
    again = CliRunner().invoke(main, ["init"], env=env)
    assert "key-encryption key is missing" in failed(again)
    assert not (fresh / provider_config.KEK_FILE).exists()


def test_commands_refuse_an_uninitialised_instance(tmp_path, monkeypatch):
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["keys", "list"], env={"PROVIDER_INSTANCE_PATH": str(empty)})
    line = failed(result)
    assert "provider init" in line


# --- users --------------------------------------------------------------------------


def test_users_create_then_login_works(app, client, cli):
    created = create_user(cli)
    assert created["username"] == "alice"
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "alice"))
        assert user.id == created["sub"]
        assert user.email == "a@x.io"
        assert user.roles == ["admin"]
        assert PASSWORD not in user.password_hash
    response = login(client)
    assert response.status_code == 303
    assert logged_in(client)


def test_users_create_duplicate_fails_with_one_line(app, cli):
    create_user(cli)
    result = cli("users", "create", "alice", "--password-stdin", stdin="another password\n")
    line = failed(result)
    assert "alice" in line and "exists" in line
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize("args, stdin", [
    (("users", "create", "bad name!", "--password-stdin"), PASSWORD + "\n"),
    (("users", "create", "bob", "--password-stdin"), "short\n"),
    (("users", "create", "bob", "--password-stdin", "--email", "not-an-email"), PASSWORD + "\n"),
    (("users", "disable", "nobody"), None),
    (("users", "enable", "nobody"), None),
], ids=["bad-username", "short-password", "bad-email", "disable-unknown", "enable-unknown"])
def test_users_bad_input_fails_with_one_line(app, cli, args, stdin):
    failed(cli(*args, stdin=stdin))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_users_create_requires_password_stdin(cli):
    result = cli("users", "create", "bob")
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr


def test_users_disable_and_enable(app, cli):
    create_user(cli)
    assert ok(cli("users", "disable", "alice")).stdout.strip() == "disabled alice"
    refused = app.test_client()
    response = login(refused)
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)
    assert not logged_in(refused)
    with app.app_context():
        assert db.session.scalar(db.select(User.disabled)) is True
        assert db.session.scalar(db.select(db.func.count()).select_from(LoginSession)) == 0

    assert ok(cli("users", "enable", "alice")).stdout.strip() == "enabled alice"
    allowed = app.test_client()
    assert login(allowed).status_code == 303
    assert logged_in(allowed)


# --- clients ------------------------------------------------------------------------


def test_clients_create_defaults(app, cli):
    created = create_client(cli, "--redirect-uri", "https://rp.example/cb")
    assert created["grant_types"] == ["authorization_code", "refresh_token"]
    assert created["token_endpoint_auth_method"] == "client_secret_basic"
    assert created["scope"] == "openid profile email offline_access"
    assert created["redirect_uris"] == ["https://rp.example/cb"]
    assert created["client_id"]
    assert len(created["client_secret"]) >= 43
    with app.app_context():
        row = db.session.get(Client, created["client_id"])
        assert row.check_client_secret(created["client_secret"])
        assert created["client_secret"] not in (row.secret_digest or "")
        assert not row.is_public and not row.trusted and not row.disabled


def test_clients_create_public(app, cli):
    created = create_client(cli, "--public", "--redirect-uri", "http://127.0.0.1:8765/cb")
    assert "client_secret" not in created
    assert created["token_endpoint_auth_method"] == "none"
    with app.app_context():
        row = db.session.get(Client, created["client_id"])
        assert row.is_public and row.secret_digest is None


@pytest.mark.parametrize("uri", [
    "https://rp.example/cb#fragment",
    "https://rp.example/cb#",
    "http://rp.example/cb",
    "/relative/cb",
    "rp.example/cb",
    "myapp:/cb",
    "https:///no-host",
], ids=["fragment", "empty-fragment", "plain-http", "relative", "no-scheme", "custom-no-dot",
        "no-host"])
def test_clients_create_bad_redirect_uri(app, cli, uri):
    line = failed(cli("clients", "create", "--name", "Bad", "--redirect-uri", uri))
    assert "redirect URI" in line
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Client)) == 0


@pytest.mark.parametrize("args", [
    ("--grant-type", "password"),
    ("--public", "--grant-type", "client_credentials"),
    ("--public", "--auth-method", "client_secret_basic"),
    ("--auth-method", "none"),
    ("--scope", 'openid "quoted"'),
], ids=["unknown-grant", "public-client-credentials", "public-with-secret-method",
        "confidential-none", "bad-scope"])
def test_clients_create_bad_options(app, cli, args):
    failed(cli("clients", "create", "--name", "Bad", "--redirect-uri", "https://rp.example/cb",
               *args))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Client)) == 0


def test_clients_rotate_secret(app, client, cli):
    created = create_client(cli, "--redirect-uri", "https://rp.example/cb",
                            "--grant-type", "client_credentials", "--scope", "api:read")
    old = basic_auth(created["client_id"], created["client_secret"])
    form = {"grant_type": "client_credentials"}
    assert client.post("/token", headers=old, data=form).status_code == 200

    rotated = json.loads(ok(cli("clients", "rotate-secret", created["client_id"])).stdout)
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]

    refused = client.post("/token", headers=old, data=form)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_client"
    new = basic_auth(created["client_id"], rotated["client_secret"])
    assert client.post("/token", headers=new, data=form).status_code == 200
    with app.app_context():
        row = db.session.get(Client, created["client_id"])
        assert not row.check_client_secret(created["client_secret"])
        assert row.check_client_secret(rotated["client_secret"])
        assert row.secret_rotated_at is not None


def test_clients_rotate_secret_bad_input(cli):
    public = create_client(cli, "--public", "--redirect-uri", "http://127.0.0.1:8765/cb")
    assert "public" in failed(cli("clients", "rotate-secret", public["client_id"]))
    assert "no-such-client" in failed(cli("clients", "rotate-secret", "no-such-client"))


def test_clients_disable(app, client, cli):
    created = create_client(cli, "--redirect-uri", "https://rp.example/cb",
                            "--grant-type", "client_credentials", "--scope", "api:read")
    auth = basic_auth(created["client_id"], created["client_secret"])
    form = {"grant_type": "client_credentials"}
    assert client.post("/token", headers=auth, data=form).status_code == 200
    result = ok(cli("clients", "disable", created["client_id"]))
    assert result.stdout.strip() == f"disabled {created['client_id']}"
    refused = client.post("/token", headers=auth, data=form)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_client"
    assert "no-such-client" in failed(cli("clients", "disable", "no-such-client"))


# --- keys ---------------------------------------------------------------------------


def test_keys_list_shows_no_private_material(app, cli):
    result = ok(cli("keys", "list"))
    listed = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(listed) == 8  # an active and a next key for each of the four algorithms
    for key in listed:
        assert set(key) == {"kid", "alg", "state", "created_at", "activated_at", "retired_at"}
    assert '"d"' not in result.stdout
    for member in ("\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "PRIVATE KEY"):
        assert member not in result.stdout
    with app.app_context():
        stored = set(db.session.scalars(db.select(SigningKey.kid)))
    assert stored == {key["kid"] for key in listed}


# --- check --------------------------------------------------------------------------


def test_check_warns_for_the_default_loopback_config(cli):
    result = ok(cli("check"))
    lines = result.stdout.strip().splitlines()
    assert lines
    assert all(line.startswith("warning: ") for line in lines), lines
    assert any("PROVIDER_ISSUER" in line for line in lines)
    assert any("PROVIDER_REQUIRE_PKCE" in line for line in lines)
    assert any("PROVIDER_PASSWORD_MEMORY_COST" in line for line in lines)


def test_check_warns_about_plain_http_client_redirect_uri(app, cli):
    created = create_client(cli, "--redirect-uri", "http://127.0.0.1:9000/cb")
    with app.app_context():
        row = db.session.get(Client, created["client_id"])
        row.redirect_uris = ["http://rp.example/cb"]
        db.session.commit()
    result = ok(cli("check"))
    assert f"warning: client {created['client_id']}" in result.stdout


def test_check_fails_under_https_with_development_settings(cli):
    result = cli("check", env={"PROVIDER_ISSUER": "https://id.example.com"})
    assert result.exit_code != 0
    assert "Traceback" not in result.stdout + result.stderr
    everything = result.stdout + result.stderr
    assert "error: PROVIDER_PASSWORD_MEMORY_COST" in everything


def test_check_lists_every_finding_under_https(cli, database):
    result = cli("check", env={"PROVIDER_ISSUER": "https://id.example.com"})
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("error: PROVIDER_PASSWORD_MEMORY_COST") for line in lines)
    assert any(line.startswith("warning: PROVIDER_REQUIRE_PKCE") for line in lines)
    # SQLite serves one host: PostgreSQL is what the warning recommends
    assert any(line.startswith("warning: DATABASE_URL") for line in lines) == (
        database == "sqlite")


def test_check_passes_under_https_with_production_settings(cli, instance, database):
    (instance / "config.py").write_text("PROVIDER_PASSWORD_MEMORY_COST = 19456\n")
    result = cli("check", env={"PROVIDER_ISSUER": "https://id.example.com",
                               "PROVIDER_REQUIRE_PKCE": "all"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("warning: ") for line in lines), lines
    assert not any("PROVIDER_REQUIRE_PKCE" in line for line in lines)
    assert any("DATABASE_URL" in line for line in lines) == (database == "sqlite")


def test_check_reports_invalid_configuration_in_one_line(cli):
    line = failed(cli("check", env={"PROVIDER_REQUIRE_PKCE": "sometimes"}))
    assert "PROVIDER_REQUIRE_PKCE" in line
    line = failed(cli("check", env={"PORT": "eighty"}))
    assert "PORT" in line


def test_broken_config_file_is_one_line(cli, instance):
    (instance / "config.py").write_text("PROVIDER_CODE_TTL = (\n")
    line = failed(cli("keys", "list"))
    assert "config.py" in line
