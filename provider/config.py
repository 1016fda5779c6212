"""Configuration: defaults, then ``instance/config.py``, then the environment.

This is the only module that reads ``os.environ``. It also owns the start-up
safety rules (``unsafe_settings``) that ``provider check`` prints and that make
the app refuse to start under an https issuer with development settings.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
KEK_FILE = "key_encryption_key"
MIN_SECRET_BYTES = 32


class ConfigurationError(Exception):
    """The configuration cannot be used; the message says what to change."""


DEFAULTS: dict[str, Any] = {
    "PORT": 5000,
    "PROVIDER_ISSUER": None,  # derived from PORT when unset
    "DATABASE_URL": None,  # SQLite file in the instance folder when unset
    "REDIS_URL": None,
    # Redis deny-list (only with REDIS_URL): key namespace, and how long a request waits
    # for Redis before failing closed
    "PROVIDER_DENYLIST_KEY_PREFIX": "provider:denied-jti:",
    "PROVIDER_REDIS_TIMEOUT_SECONDS": 0.5,
    "PROVIDER_KEY_ENCRYPTION_KEY": None,  # read from the instance folder when unset
    "PROVIDER_DEFAULT_AUDIENCE": None,  # the issuer when unset
    "PROVIDER_REQUIRE_PKCE": "public",
    "PROVIDER_REFRESH_GRACE_SECONDS": 10,
    "PROVIDER_REFRESH_IDLE_TTL": 14 * 24 * 3600,  # per token
    "PROVIDER_REFRESH_ABSOLUTE_TTL": 30 * 24 * 3600,  # per family, never extended
    "PROVIDER_ACCESS_TOKEN_TTL": 900,
    "PROVIDER_ID_TOKEN_TTL": 3600,
    "PROVIDER_CODE_TTL": 60,
    "PROVIDER_INTERACTION_TTL": 600,
    "PROVIDER_SESSION_TTL": 8 * 3600,
    "PROVIDER_KEY_CACHE_SECONDS": 10,
    # every algorithm with an active key; an operator may switch any off
    "PROVIDER_SIGNING_ALGORITHMS": ["RS256", "PS256", "ES256", "EdDSA"],
    "PROVIDER_ACCESS_TOKEN_ALG": "RS256",
    "PROVIDER_KEY_ROTATION_INTERVAL": 0,  # seconds between automatic rotations; 0 = off
    "PROVIDER_JOBS_TICK_SECONDS": 15,  # how often each worker looks for due background jobs
    # `provider serve`: a client gets this long to send a whole request, headers and body
    "PROVIDER_REQUEST_READ_TIMEOUT_SECONDS": 30,
    # logout: revoke other clients' offline_access families too (Back-Channel Logout §2.7
    # advises against it), and deny-list the session's live access tokens
    "PROVIDER_LOGOUT_REVOKES_OFFLINE": False,
    "PROVIDER_LOGOUT_DENYLISTS_ACCESS_TOKENS": True,
    # back-channel deliveries to private, link-local or loopback addresses
    "PROVIDER_OUTBOUND_ALLOW_PRIVATE": False,
    # one back-channel attempt, connect to last byte read, ends after this many seconds
    "PROVIDER_OUTBOUND_DEADLINE_SECONDS": 10,
    "PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS": [],  # still decrypt, never encrypt
    "PROVIDER_DISCOVERY_MAX_AGE": 300,
    # argon2id parameters; tests lower them, production keeps argon2-cffi's defaults
    "PROVIDER_PASSWORD_TIME_COST": 3,
    "PROVIDER_PASSWORD_MEMORY_COST": 65536,
    "PROVIDER_PASSWORD_PARALLELISM": 4,
    "PROVIDER_SQLITE_BUSY_TIMEOUT_MS": 15000,
    # login throttling (RFC 6749 §10.10): free failures per (account, client address) and
    # per account, then a back-off doubling from the first value up to the cap; counters
    # with no failure for the reset time start again (provider/accounts/throttle.py)
    "PROVIDER_LOGIN_FREE_ATTEMPTS": 5,
    "PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS": 20,
    "PROVIDER_LOGIN_BACKOFF_SECONDS": 1,
    "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS": 900,
    "PROVIDER_LOGIN_THROTTLE_RESET_SECONDS": 24 * 3600,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_NAME": "provider_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
}

# Environment variables read, with the type they are parsed into.
ENVIRONMENT: dict[str, type] = {
    "PORT": int,
    "PROVIDER_ISSUER": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "PROVIDER_KEY_ENCRYPTION_KEY": str,
    "PROVIDER_DEFAULT_AUDIENCE": str,
    "PROVIDER_REQUIRE_PKCE": str,
    "PROVIDER_REFRESH_GRACE_SECONDS": int,
    "PROVIDER_REFRESH_IDLE_TTL": int,
    "PROVIDER_REFRESH_ABSOLUTE_TTL": int,
    "PROVIDER_ACCESS_TOKEN_TTL": int,
    "PROVIDER_ID_TOKEN_TTL": int,
    "PROVIDER_CODE_TTL": int,
    "PROVIDER_SIGNING_ALGORITHMS": list,
    "PROVIDER_ACCESS_TOKEN_ALG": str,
    "PROVIDER_KEY_ROTATION_INTERVAL": int,
    "PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS": list,
}

KNOWN_DEVELOPMENT_SECRETS = {"dev", "development", "secret", "changeme", "change-me", "test"}


def instance_path() -> Path:
    """The Flask instance folder: ``PROVIDER_INSTANCE_PATH`` or ``instance/``."""
    configured = os.environ.get("PROVIDER_INSTANCE_PATH")
    return Path(configured).resolve() if configured else REPOSITORY_ROOT / "instance"


def load(config: dict[str, Any], instance: Path, overrides: dict[str, Any] | None) -> None:
    """Fill ``config`` in the documented order, then derive the dependent values."""
    config.update(DEFAULTS)
    config_file = instance / "config.py"
    if config_file.exists():
        config.update(_read_config_file(config_file))
    config.update(_read_environment())
    if overrides:
        config.update(overrides)
    _derive(config, instance)


def _read_config_file(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), namespace)  # noqa: S102
    except Exception as exc:  # a broken config file must name itself, not dump a traceback
        raise ConfigurationError(f"{path}: {type(exc).__name__}: {exc}") from None
    return {key: value for key, value in namespace.items() if key.isupper()}


def _read_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in ENVIRONMENT.items():
        raw = os.environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[name] = raw.replace(",", " ").split() if kind is list else kind(raw)
        except ValueError:
            raise ConfigurationError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    return values


def _derive(config: dict[str, Any], instance: Path) -> None:
    _validate_port(config["PORT"])
    if not config.get("PROVIDER_ISSUER"):
        config["PROVIDER_ISSUER"] = f"http://127.0.0.1:{config['PORT']}"
    config["PROVIDER_ISSUER"] = config["PROVIDER_ISSUER"].rstrip("/")
    if not config.get("PROVIDER_DEFAULT_AUDIENCE"):
        config["PROVIDER_DEFAULT_AUDIENCE"] = config["PROVIDER_ISSUER"]
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'provider.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config["PROVIDER_REQUIRE_PKCE"] not in ("public", "all"):
        raise ConfigurationError(
            "PROVIDER_REQUIRE_PKCE must be 'public' or 'all', "
            f"not {config['PROVIDER_REQUIRE_PKCE']!r}"
        )
    _validate_issuer(config["PROVIDER_ISSUER"])
    _validate_algorithms(config)
    deadline = config["PROVIDER_OUTBOUND_DEADLINE_SECONDS"]
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) \
            or not 0 < deadline <= 60:
        raise ConfigurationError("PROVIDER_OUTBOUND_DEADLINE_SECONDS must be more than 0 "
                                 "and at most 60 seconds")
    _validate_login_throttle(config)
    for name in ("PROVIDER_REFRESH_GRACE_SECONDS", "PROVIDER_REFRESH_IDLE_TTL",
                 "PROVIDER_REFRESH_ABSOLUTE_TTL"):
        if not isinstance(config[name], int) or config[name] < 0:
            raise ConfigurationError(f"{name} must be a non-negative whole number of seconds")
    read_timeout = config["PROVIDER_REQUEST_READ_TIMEOUT_SECONDS"]
    if isinstance(read_timeout, bool) or not isinstance(read_timeout, int | float) \
            or read_timeout <= 0:
        raise ConfigurationError("PROVIDER_REQUEST_READ_TIMEOUT_SECONDS must be a positive "
                                 "number of seconds")
    issuer_is_https = config["PROVIDER_ISSUER"].startswith("https://")
    config["SESSION_COOKIE_SECURE"] = issuer_is_https
    config["PREFERRED_URL_SCHEME"] = "https" if issuer_is_https else "http"


ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def _validate_algorithms(config: dict[str, Any]) -> None:
    enabled = list(config["PROVIDER_SIGNING_ALGORITHMS"])
    unknown = [alg for alg in enabled if alg not in ALGORITHMS]
    if unknown or not enabled:
        raise ConfigurationError(
            f"PROVIDER_SIGNING_ALGORITHMS must name some of {', '.join(ALGORITHMS)}")
    if "RS256" not in enabled:
        raise ConfigurationError("RS256 cannot be switched off: OpenID Connect requires it")
    if config["PROVIDER_ACCESS_TOKEN_ALG"] not in enabled:
        raise ConfigurationError("PROVIDER_ACCESS_TOKEN_ALG must be one of the signing algorithms")
    if int(config["PROVIDER_KEY_ROTATION_INTERVAL"]) < 0:
        raise ConfigurationError("PROVIDER_KEY_ROTATION_INTERVAL must be >= 0 seconds")


LOGIN_THROTTLE_SETTINGS = ("PROVIDER_LOGIN_FREE_ATTEMPTS", "PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS",
                           "PROVIDER_LOGIN_BACKOFF_SECONDS", "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS",
                           "PROVIDER_LOGIN_THROTTLE_RESET_SECONDS")


def _validate_login_throttle(config: dict[str, Any]) -> None:
    for name in LOGIN_THROTTLE_SETTINGS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{name} must be a whole number of at least 1")
    if config["PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"] < config["PROVIDER_LOGIN_BACKOFF_SECONDS"]:
        raise ConfigurationError("PROVIDER_LOGIN_BACKOFF_MAX_SECONDS must be at least "
                                 "PROVIDER_LOGIN_BACKOFF_SECONDS")
    # a counter forgotten while its back-off runs would hand out fresh free attempts
    if config["PROVIDER_LOGIN_THROTTLE_RESET_SECONDS"] <= config[
            "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"]:
        raise ConfigurationError("PROVIDER_LOGIN_THROTTLE_RESET_SECONDS must exceed "
                                 "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS")


def _validate_port(port: Any) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigurationError(f"PORT={port!r} must be a whole number from 1 to 65535")


def _validate_issuer(issuer: str) -> None:
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError:
        raise ConfigurationError(f"PROVIDER_ISSUER={issuer!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"PROVIDER_ISSUER={issuer!r} must be an http(s) URL")
    if "?" in issuer or "#" in issuer:
        raise ConfigurationError("PROVIDER_ISSUER must not have a query or fragment (RFC 8414)")


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- instance secrets -------------------------------------------------------------


@dataclass(frozen=True)
class InstanceSecrets:
    secret_key: str
    key_encryption_key: bytes
    previous_key_encryption_keys: tuple[bytes, ...] = ()


def create_instance_secrets(instance: Path,
                            names: tuple[str, ...] = (SECRET_KEY_FILE, KEK_FILE)) -> list[str]:
    """Create the secret key and key-encryption key files (0600) if absent.

    Returns the names of the files created. Creation is exclusive, so two
    processes initialising at once end up with the same single file.
    """
    instance.mkdir(parents=True, exist_ok=True)
    created = []
    for name in names:
        value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        try:
            fd = os.open(instance / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        created.append(name)
    return created


def read_instance_secrets(config: dict[str, Any], instance: Path) -> InstanceSecrets | None:
    """Read the secret key and KEK; None when the instance is not initialised."""
    secret_key = config.get("SECRET_KEY") or _read_secret_file(instance / SECRET_KEY_FILE)
    kek_text = config.get("PROVIDER_KEY_ENCRYPTION_KEY") or _read_secret_file(instance / KEK_FILE)
    if not secret_key or not kek_text:
        return None
    listed = config.get("PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS", ())
    previous = tuple(decode_kek(text) for text in listed)
    return InstanceSecrets(secret_key=secret_key, key_encryption_key=decode_kek(kek_text),
                           previous_key_encryption_keys=previous)


def decode_kek(text: str) -> bytes:
    """A KEK is 32 bytes, written as unpadded base64url."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raise ConfigurationError("the key-encryption key is not valid base64url") from None
    if len(raw) != 32:
        raise ConfigurationError(
            f"the key-encryption key must be 32 bytes (base64url), not {len(raw)} bytes"
        )
    return raw


def _read_secret_file(path: Path) -> str | None:
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_text().strip() or None


# --- safety rules -------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One unsafe setting: ``error`` stops an https deployment, ``warning`` is advice."""

    severity: str
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.setting}: {self.message}"


def unsafe_settings(config: dict[str, Any]) -> list[Finding]:
    """Every unsafe setting and every deviation from RFC 9700 in ``config``."""
    issuer = config["PROVIDER_ISSUER"]
    host = urlsplit(issuer).hostname
    https = issuer.startswith("https://")
    findings: list[Finding] = []

    def add(severity: str, setting: str, message: str) -> None:
        findings.append(Finding(severity, setting, message))

    if not https and not is_loopback_host(host):
        add("error", "PROVIDER_ISSUER", "plain http on a non-loopback host; use https")
    elif not https:
        add("warning", "PROVIDER_ISSUER", "http issuer: fine on this machine, never in production")
    secret = str(config.get("SECRET_KEY") or "")
    if secret.lower() in KNOWN_DEVELOPMENT_SECRETS or len(secret) < MIN_SECRET_BYTES:
        add("error" if https else "warning", "SECRET_KEY",
            "development or short secret key; let `provider init` generate one")
    if config.get("PROVIDER_REQUIRE_PKCE") != "all":
        add("warning", "PROVIDER_REQUIRE_PKCE",
            "PKCE is optional for confidential clients; 'all' is the OAuth 2.1 / RFC 9700 "
            "recommendation")
    if int(config["PROVIDER_CODE_TTL"]) > 600:
        add("error" if https else "warning", "PROVIDER_CODE_TTL",
            "authorization codes must be short-lived (RFC 6749 §4.1.2: at most 10 minutes)")
    rotation = int(config["PROVIDER_KEY_ROTATION_INTERVAL"])
    delay = int(config["PROVIDER_DISCOVERY_MAX_AGE"]) + int(config["PROVIDER_KEY_CACHE_SECONDS"])
    if 0 < rotation <= delay:
        add("error", "PROVIDER_KEY_ROTATION_INTERVAL",
            f"must exceed the JWKS max-age plus the key cache ({delay} s), or no next key "
            "is ever published long enough to be promoted")
    elif not rotation:
        add("warning", "PROVIDER_KEY_ROTATION_INTERVAL",
            "automatic signing-key rotation is off; rotate with `provider keys rotate`")
    if int(config["PROVIDER_REFRESH_GRACE_SECONDS"]) > 60:
        add("warning", "PROVIDER_REFRESH_GRACE_SECONDS",
            "a long grace window lets a stolen refresh token be replayed unnoticed for longer")
    if int(config["PROVIDER_ACCESS_TOKEN_TTL"]) > 3600:
        add("warning", "PROVIDER_ACCESS_TOKEN_TTL",
            "resource servers that verify JWTs offline never see a revocation; keep access "
            "tokens short-lived (RFC 9700 §4.14)")
    if https and str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        add("warning", "DATABASE_URL", "SQLite serves one host only; use PostgreSQL to scale out")
    if _plain_redis_off_loopback(str(config.get("REDIS_URL") or "")):
        add("warning", "REDIS_URL", "plain redis:// to another host: deny-list traffic and the "
            "Redis password cross the network unencrypted; use rediss://")
    if not config.get("SESSION_COOKIE_SECURE"):
        add("error" if https else "warning", "SESSION_COOKIE_SECURE",
            "session cookie is sent over plain http")
    if int(config["PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"]) > 900:
        add("warning", "PROVIDER_LOGIN_BACKOFF_MAX_SECONDS", "anyone who knows a username "
            "can keep that account locked out for this long at a time; 900 s at most advised")
    if int(config["PROVIDER_PASSWORD_MEMORY_COST"]) < 19456:
        add("error" if https else "warning", "PROVIDER_PASSWORD_MEMORY_COST",
            "argon2id memory below the OWASP minimum of 19 MiB (test setting)")
    return findings


def _plain_redis_off_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False  # unusable: the deny-list refuses it at start with its own message
    return url.startswith("redis://") and not is_loopback_host(host)


def refuse_unsafe_start(config: dict[str, Any]) -> None:
    """Raise on any error-level finding (they only arise off loopback or under https)."""
    errors = [f for f in unsafe_settings(config) if f.severity == "error"]
    if errors:
        lines = "\n".join(f"  {finding}" for finding in errors)
        raise ConfigurationError(f"refusing to start with unsafe settings:\n{lines}")
