"""provider/config/: the settings table and its documentation, load order, validation,
instance secrets, the safety rules, and create_app's refusal to start uninitialised or
unsafe."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import provider
from provider import config as provider_config
from provider.config import (
    DEFAULTS,
    ENVIRONMENT,
    FLASK_SETTINGS,
    INSTANCE_PATH_VARIABLE,
    SETTINGS,
    ConfigurationError,
    Finding,
    load,
    read_instance_secrets,
    refuse_unsafe_start,
    unsafe_settings,
)
from provider.config.database import engine_options, normalise_database_url
from tests.support.settings import CHEAP_HASHING

STRONG_SECRET = "s" * 48
PRODUCTION = {"PROVIDER_PASSWORD_MEMORY_COST": 19456, "PROVIDER_REQUIRE_PKCE": "all",
              "SECRET_KEY": STRONG_SECRET, "PROVIDER_KEY_ROTATION_INTERVAL": 90 * 24 * 3600}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in provider_config.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PROVIDER_INSTANCE_PATH", raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "inst"
    path.mkdir()
    return path


def loaded(folder: Path, overrides: dict | None = None) -> dict:
    config: dict = {}
    load(config, folder, overrides)
    return config


def write_config(folder: Path, text: str) -> None:
    (folder / "config.py").write_text(text)


def settings(folder: Path, **overrides) -> dict:
    """A loaded configuration plus SECRET_KEY (normally set by create_app)."""
    secret = overrides.pop("SECRET_KEY", STRONG_SECRET)
    config = loaded(folder, overrides)
    config["SECRET_KEY"] = secret
    return config


# --- the settings table and its documentation ---------------------------------------

DECLARED = {setting.name for setting in SETTINGS}
FROM_THE_ENVIRONMENT = {setting.name for setting in SETTINGS if setting.environment_variable}


def readme_configuration_tables() -> list[list[str]]:
    """The setting names in each table of the README's Configuration section."""
    readme = (provider_config.REPOSITORY_ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    tables: list[list[str]] = []
    in_table = False
    for line in section.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table:
            tables.append([])
            in_table = True
        row = re.match(r"\| `([A-Z][A-Z0-9_]*)` \|", line)
        if row:
            tables[-1].append(row.group(1))
    return tables


def example_config_names() -> list[str]:
    example = (provider_config.REPOSITORY_ROOT / "instance" / "config.example.py").read_text()
    return re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*) = ", example, re.MULTILINE)


def differences(documented: list[str], declared: set[str]) -> dict[str, list[str]]:
    return {"missing": sorted(declared - set(documented)),
            "not declared": sorted(set(documented) - declared),
            "repeated": sorted({name for name in documented if documented.count(name) > 1})}


NO_DIFFERENCES = {"missing": [], "not declared": [], "repeated": []}


def test_every_setting_is_declared_once_and_the_defaults_come_from_the_table():
    assert len(DECLARED) == len(SETTINGS)
    assert not DECLARED & set(FLASK_SETTINGS)
    assert {**{s.name: s.default for s in SETTINGS}, **FLASK_SETTINGS} == DEFAULTS
    assert {s.environment_variable: s for s in SETTINGS if s.parse} == ENVIRONMENT


def test_readme_tables_name_exactly_the_declared_settings():
    environment, config_file_only = readme_configuration_tables()
    # the first table: what the environment sets (plus where the instance folder is)
    assert differences(environment, FROM_THE_ENVIRONMENT | {INSTANCE_PATH_VARIABLE}) \
        == NO_DIFFERENCES
    # the second: what only instance/config.py sets
    assert differences(config_file_only, DECLARED - FROM_THE_ENVIRONMENT) == NO_DIFFERENCES


def test_example_config_names_exactly_the_declared_settings():
    assert differences(example_config_names(), DECLARED) == NO_DIFFERENCES


def test_example_config_sets_nothing_when_copied_unchanged(folder):
    example = provider_config.REPOSITORY_ROOT / "instance" / "config.example.py"
    defaults = loaded(folder)
    write_config(folder, example.read_text())
    assert loaded(folder) == defaults


# --- load order ---------------------------------------------------------------------


def test_defaults(folder):
    config = loaded(folder)
    assert config["PROVIDER_CODE_TTL"] == 60
    assert config["PROVIDER_REQUIRE_PKCE"] == "public"
    assert config["PROVIDER_ISSUER"] == "http://127.0.0.1:5000"
    assert config["PROVIDER_DEFAULT_AUDIENCE"] == "http://127.0.0.1:5000"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{folder / 'provider.db'}"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["PREFERRED_URL_SCHEME"] == "http"


def test_config_file_overrides_defaults(folder):
    write_config(folder, "PROVIDER_CODE_TTL = 120\nPORT = 6000\nlowercase = 'ignored'\n")
    config = loaded(folder)
    assert config["PROVIDER_CODE_TTL"] == 120
    assert config["PROVIDER_ISSUER"] == "http://127.0.0.1:6000"
    assert "lowercase" not in config


def test_environment_overrides_config_file(folder, monkeypatch):
    write_config(folder, "PROVIDER_CODE_TTL = 120\nPORT = 6000\n")
    monkeypatch.setenv("PROVIDER_CODE_TTL", "180")
    monkeypatch.setenv("PORT", "7000")
    config = loaded(folder)
    assert config["PROVIDER_CODE_TTL"] == 180
    assert config["PORT"] == 7000
    assert config["PROVIDER_ISSUER"] == "http://127.0.0.1:7000"


def test_explicit_overrides_win(folder, monkeypatch):
    write_config(folder, "PROVIDER_CODE_TTL = 120\n")
    monkeypatch.setenv("PROVIDER_CODE_TTL", "180")
    config = loaded(folder, {"PROVIDER_CODE_TTL": 240})
    assert config["PROVIDER_CODE_TTL"] == 240


@pytest.mark.parametrize("layers, expected", [
    ((), "public"),
    (("file",), "all"),
    (("file", "env"), "public"),
    (("file", "env", "override"), "all"),
    (("env",), "public"),
    (("override",), "all"),
])
def test_each_layer_beats_the_ones_before(folder, monkeypatch, layers, expected):
    if "file" in layers:
        write_config(folder, "PROVIDER_REQUIRE_PKCE = 'all'\n")
    if "env" in layers:
        monkeypatch.setenv("PROVIDER_REQUIRE_PKCE", "public")
    overrides = {"PROVIDER_REQUIRE_PKCE": "all"} if "override" in layers else None
    assert loaded(folder, overrides)["PROVIDER_REQUIRE_PKCE"] == expected


def test_empty_environment_value_is_ignored(folder, monkeypatch):
    write_config(folder, "PROVIDER_CODE_TTL = 120\n")
    monkeypatch.setenv("PROVIDER_CODE_TTL", "")
    assert loaded(folder)["PROVIDER_CODE_TTL"] == 120


def test_environment_values_are_typed(folder, monkeypatch):
    monkeypatch.setenv("PROVIDER_ACCESS_TOKEN_TTL", "300")
    monkeypatch.setenv("PROVIDER_ISSUER", "https://id.example.com/")
    config = loaded(folder)
    assert config["PROVIDER_ACCESS_TOKEN_TTL"] == 300
    assert config["PROVIDER_ISSUER"] == "https://id.example.com"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https"


def test_unknown_environment_variables_are_not_read(folder, monkeypatch):
    monkeypatch.setenv("PROVIDER_SESSION_TTL", "1")
    assert loaded(folder)["PROVIDER_SESSION_TTL"] == 8 * 3600


def test_instance_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROVIDER_INSTANCE_PATH", str(tmp_path / "x" / ".." / "inst"))
    assert provider_config.instance_path() == (tmp_path / "inst").resolve()
    monkeypatch.delenv("PROVIDER_INSTANCE_PATH")
    assert provider_config.instance_path() == provider_config.REPOSITORY_ROOT / "instance"


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["sometimes", "ALL", "none", "Public"])
def test_invalid_require_pkce_from_the_environment(folder, monkeypatch, value):
    monkeypatch.setenv("PROVIDER_REQUIRE_PKCE", value)
    with pytest.raises(ConfigurationError, match="PROVIDER_REQUIRE_PKCE"):
        loaded(folder)


def test_invalid_require_pkce_from_file_or_override(folder):
    write_config(folder, "PROVIDER_REQUIRE_PKCE = 'always'\n")
    with pytest.raises(ConfigurationError, match="PROVIDER_REQUIRE_PKCE"):
        loaded(folder)
    with pytest.raises(ConfigurationError, match="PROVIDER_REQUIRE_PKCE"):
        loaded(folder, {"PROVIDER_REQUIRE_PKCE": None})


@pytest.mark.parametrize("value", ["eighty", "80.5", "0x50", "5000abc"])
def test_non_integer_port_from_the_environment(folder, monkeypatch, value):
    monkeypatch.setenv("PORT", value)
    with pytest.raises(ConfigurationError, match="PORT"):
        loaded(folder)


@pytest.mark.parametrize("name", ["PROVIDER_CODE_TTL", "PROVIDER_ACCESS_TOKEN_TTL",
                                  "PROVIDER_REFRESH_GRACE_SECONDS"])
def test_non_integer_durations_from_the_environment(folder, monkeypatch, name):
    monkeypatch.setenv(name, "ten")
    with pytest.raises(ConfigurationError, match=name):
        loaded(folder)


@pytest.mark.parametrize("source, value", [("env", "70000"), ("env", "-1"), ("file", "'abc'")])
def test_out_of_range_or_non_integer_port(folder, monkeypatch, source, value):
    if source == "env":
        monkeypatch.setenv("PORT", value)
    else:
        write_config(folder, f"PORT = {value}\n")
    with pytest.raises(ConfigurationError, match="PORT"):
        loaded(folder)


@pytest.mark.parametrize("issuer", [
    "https://id.example.com/?tenant=1",
    "https://id.example.com/path?x",
    "https://id.example.com#fragment",
    "https://id.example.com/realm#x",
])
def test_issuer_with_query_or_fragment_is_refused(folder, issuer):
    with pytest.raises(ConfigurationError, match="query or fragment"):
        loaded(folder, {"PROVIDER_ISSUER": issuer})


@pytest.mark.parametrize("issuer", ["https://id.example.com/?", "https://id.example.com#"])
def test_issuer_with_empty_query_or_fragment_is_refused(folder, issuer):
    with pytest.raises(ConfigurationError):
        loaded(folder, {"PROVIDER_ISSUER": issuer})


def test_issuer_with_invalid_port_is_refused(folder):
    with pytest.raises(ConfigurationError):
        loaded(folder, {"PROVIDER_ISSUER": "https://id.example.com:99999"})


@pytest.mark.parametrize("issuer", ["ftp://id.example.com", "id.example.com", "https://",
                                    "https:///path", "javascript:alert(1)"])
def test_issuer_must_be_an_http_url(folder, issuer):
    with pytest.raises(ConfigurationError, match="PROVIDER_ISSUER"):
        loaded(folder, {"PROVIDER_ISSUER": issuer})


def test_issuer_from_environment_is_validated(folder, monkeypatch):
    monkeypatch.setenv("PROVIDER_ISSUER", "https://id.example.com/?x=1")
    with pytest.raises(ConfigurationError):
        loaded(folder)


def test_broken_config_file_names_itself(folder):
    write_config(folder, "PROVIDER_CODE_TTL = (\n")
    with pytest.raises(ConfigurationError, match="config.py"):
        loaded(folder)
    write_config(folder, "raise RuntimeError('boom')\n")
    with pytest.raises(ConfigurationError, match="RuntimeError: boom"):
        loaded(folder)


# --- instance secrets ---------------------------------------------------------------


def test_instance_secrets_are_created_once_with_mode_0600(folder):
    created = provider_config.create_instance_secrets(folder)
    assert sorted(created) == sorted([provider_config.SECRET_KEY_FILE, provider_config.KEK_FILE])
    for name in created:
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    first = read_instance_secrets({}, folder)
    assert provider_config.create_instance_secrets(folder) == []
    second = read_instance_secrets({}, folder)
    assert first == second
    assert len(first.key_encryption_key) == 32
    assert len(first.secret_key) >= provider_config.MIN_SECRET_BYTES


def test_uninitialised_instance_has_no_secrets(folder):
    assert read_instance_secrets({}, folder) is None


def test_secret_file_readable_by_others_is_refused(folder):
    provider_config.create_instance_secrets(folder)
    os.chmod(folder / provider_config.SECRET_KEY_FILE, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_instance_secrets({}, folder)


@pytest.mark.parametrize("kek", ["not base64 !!", "c2hvcnQ", "A" * 100])
def test_invalid_key_encryption_key(folder, kek):
    provider_config.create_instance_secrets(folder)
    with pytest.raises(ConfigurationError, match="key-encryption key"):
        read_instance_secrets({"PROVIDER_KEY_ENCRYPTION_KEY": kek}, folder)


# --- safety rules -------------------------------------------------------------------


def errors_of(findings: list[Finding]) -> dict[str, Finding]:
    return {f.setting: f for f in findings if f.severity == "error"}


@pytest.mark.parametrize("secret", ["short", "dev", "changeme", "x" * 31, ""])
def test_https_issuer_with_short_or_development_secret_key_is_an_error(folder, secret):
    config = settings(folder, PROVIDER_ISSUER="https://id.example.com", SECRET_KEY=secret,
                      **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"})
    errors = errors_of(unsafe_settings(config))
    assert set(errors) == {"SECRET_KEY"}
    assert str(errors["SECRET_KEY"]).startswith("error: SECRET_KEY: ")
    with pytest.raises(ConfigurationError, match="SECRET_KEY") as raised:
        refuse_unsafe_start(config)
    assert "refusing to start" in str(raised.value)


def test_https_issuer_with_production_settings_starts(folder):
    config = settings(folder, PROVIDER_ISSUER="https://id.example.com", **PRODUCTION)
    findings = unsafe_settings(config)
    assert not errors_of(findings)
    assert [f.setting for f in findings] == ["DATABASE_URL"]  # SQLite: advice only
    refuse_unsafe_start(config)


@pytest.mark.parametrize("setting, overrides", [
    ("PROVIDER_CODE_TTL", {"PROVIDER_CODE_TTL": 601}),
    ("PROVIDER_PASSWORD_MEMORY_COST", {"PROVIDER_PASSWORD_MEMORY_COST": 8}),
])
def test_https_issuer_with_test_settings_is_an_error(folder, setting, overrides):
    config = settings(folder, PROVIDER_ISSUER="https://id.example.com",
                      **{**PRODUCTION, **overrides})
    assert set(errors_of(unsafe_settings(config))) == {setting}
    with pytest.raises(ConfigurationError, match=setting):
        refuse_unsafe_start(config)


def test_loopback_http_issuer_only_warns(folder):
    config = settings(folder, SECRET_KEY="dev", PROVIDER_CODE_TTL=900, **CHEAP_HASHING)
    findings = unsafe_settings(config)
    assert findings and all(f.severity == "warning" for f in findings)
    assert {"PROVIDER_ISSUER", "SECRET_KEY", "PROVIDER_REQUIRE_PKCE", "PROVIDER_CODE_TTL",
            "SESSION_COOKIE_SECURE", "PROVIDER_PASSWORD_MEMORY_COST"} <= {
        f.setting for f in findings}
    refuse_unsafe_start(config)


@pytest.mark.parametrize("issuer", ["http://localhost:5000", "http://[::1]:5000",
                                    "http://127.0.0.2"])
def test_other_loopback_issuers_only_warn(folder, issuer):
    config = settings(folder, PROVIDER_ISSUER=issuer, **PRODUCTION)
    assert not errors_of(unsafe_settings(config))
    refuse_unsafe_start(config)


@pytest.mark.parametrize("issuer", ["http://id.example.com", "http://10.0.0.5:5000",
                                    "http://0.0.0.0:5000"])
def test_plain_http_off_loopback_is_an_error(folder, issuer):
    config = settings(folder, PROVIDER_ISSUER=issuer, **PRODUCTION)
    assert "PROVIDER_ISSUER" in errors_of(unsafe_settings(config))
    with pytest.raises(ConfigurationError, match="PROVIDER_ISSUER"):
        refuse_unsafe_start(config)


def test_long_access_token_ttl_is_a_warning(folder):
    config = settings(folder, PROVIDER_ISSUER="https://id.example.com",
                      PROVIDER_ACCESS_TOKEN_TTL=7200, **PRODUCTION)
    warnings = {f.setting for f in unsafe_settings(config) if f.severity == "warning"}
    assert "PROVIDER_ACCESS_TOKEN_TTL" in warnings
    refuse_unsafe_start(config)


# --- create_app ---------------------------------------------------------------------


def test_create_app_refuses_an_uninitialised_instance(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match="provider init"):
        provider.create_app({"PROVIDER_INSTANCE_PATH": str(empty)})
    assert list(empty.iterdir()) == []


def test_create_app_refuses_unsafe_https_settings(instance):
    with pytest.raises(ConfigurationError, match="refusing to start"):
        provider.create_app({"PROVIDER_INSTANCE_PATH": str(instance),
                             "PROVIDER_ISSUER": "https://id.example.com", **CHEAP_HASHING})


def test_create_app_starts_under_https_with_safe_settings(instance):
    app = provider.create_app({"PROVIDER_INSTANCE_PATH": str(instance),
                               "PROVIDER_ISSUER": "https://id.example.com",
                               "PROVIDER_PASSWORD_MEMORY_COST": 19456})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert len(app.config["SECRET_KEY"]) >= provider_config.MIN_SECRET_BYTES
    finally:
        with app.app_context():
            from provider.extensions import db

            db.engine.dispose()


def test_create_app_reports_invalid_configuration(instance, monkeypatch):
    monkeypatch.setenv("PROVIDER_REQUIRE_PKCE", "maybe")
    with pytest.raises(ConfigurationError, match="PROVIDER_REQUIRE_PKCE"):
        provider.create_app({"PROVIDER_INSTANCE_PATH": str(instance)})


def test_key_rotation_interval_must_exceed_the_publication_delay(folder):
    config = settings(folder, PROVIDER_KEY_ROTATION_INTERVAL=100)  # max-age 300 + cache 10
    assert "PROVIDER_KEY_ROTATION_INTERVAL" in errors_of(unsafe_settings(config))
    with pytest.raises(ConfigurationError, match="PROVIDER_KEY_ROTATION_INTERVAL"):
        refuse_unsafe_start(config)


@pytest.mark.parametrize("overrides", [
    {"PROVIDER_SIGNING_ALGORITHMS": ["ES256"]},  # RS256 is mandatory for OIDC
    {"PROVIDER_SIGNING_ALGORITHMS": ["RS256", "HS256"]},
    {"PROVIDER_ACCESS_TOKEN_ALG": "ES256", "PROVIDER_SIGNING_ALGORITHMS": ["RS256"]},
])
def test_signing_algorithm_settings_are_validated(folder, overrides):
    with pytest.raises(ConfigurationError):
        settings(folder, **overrides)


@pytest.mark.parametrize("url", ["postgres://u:p@db.internal/provider",
                                 "postgresql://u:p@db.internal/provider",
                                 "POSTGRESQL+psycopg://u:p@db.internal/provider"])
def test_postgres_spellings_mean_psycopg(url):
    assert normalise_database_url(url) == "postgresql+psycopg://u:p@db.internal/provider"


def test_a_database_url_that_is_no_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        normalise_database_url("db.internal/provider")


def test_postgresql_gets_a_sized_pre_pinged_pool_with_deadlines_and_sqlite_none():
    """And on both, a database error's text never carries the statement's values."""
    config = {**DEFAULTS, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/provider",
              "PROVIDER_DB_STATEMENT_TIMEOUT_MS": 2500}
    options = engine_options(config)
    assert options["pool_pre_ping"] is True
    assert (options["pool_size"], options["max_overflow"]) == (4, 4)
    assert "statement_timeout=2500" in options["connect_args"]["options"]
    assert options["connect_args"]["connect_timeout"] == 3
    assert options["hide_parameters"] is True
    assert engine_options({**config, "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}) == {
        "hide_parameters": True}


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0"])
def test_trusting_every_address_as_a_proxy_is_an_error_under_https(folder, everyone):
    config = settings(folder, PROVIDER_ISSUER="https://id.example.com", **PRODUCTION,
                      PROVIDER_TRUSTED_PROXIES=["10.0.0.0/8", everyone])
    assert set(errors_of(unsafe_settings(config))) == {"PROVIDER_TRUSTED_PROXIES"}
    narrow = settings(folder, PROVIDER_ISSUER="https://id.example.com", **PRODUCTION,
                      PROVIDER_TRUSTED_PROXIES=["10.0.0.0/8", "fd00::/8"])
    assert "PROVIDER_TRUSTED_PROXIES" not in {f.setting for f in unsafe_settings(narrow)}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PROVIDER_TRUSTED_PROXIES", ["10.0.0.0/8", "10.0.0.300"], "'10.0.0.300'"),
    ("PROVIDER_FORWARDED_HEADER", "x-real-ip", "x-forwarded-for, forwarded"),
    ("PROVIDER_LOG_FORMAT", "xml", "json, text"),
])
def test_proxy_and_log_settings_are_checked(folder, name, value, message):
    with pytest.raises(ConfigurationError, match=message):
        settings(folder, **{name: value})
