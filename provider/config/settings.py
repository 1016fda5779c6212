"""Every setting, declared once: name, default, environment variable and parser, checks, meaning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .validation import (
    Check,
    at_least,
    boolean,
    enabled_signing_algorithm,
    exceeding,
    interval_seconds,
    ip_networks,
    issuer_url,
    metrics_token,
    non_negative_whole_seconds,
    not_with,
    one_of,
    outbound_deadline_seconds,
    pkce_policy,
    port_number,
    positive_seconds,
    rate_limit,
    signing_algorithms,
    whole_number_from_one,
    whole_number_from_zero,
)


def words(raw: str) -> list[str]:
    """An environment list: words separated by spaces or commas."""
    return raw.replace(",", " ").split()


def flag(raw: str) -> bool:
    """An environment switch: true or false (also 1/0, yes/no, on/off)."""
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError(raw)


@dataclass(frozen=True)
class Setting:
    """One setting. Without ``parse`` it is only read from ``instance/config.py``."""

    name: str
    default: Any
    meaning: str
    parse: Callable[[str], Any] | None = None  # the environment variable's text -> value
    checks: tuple[Check, ...] = ()  # run in table order, after loading and derivation
    variable: str | None = None  # the environment variable, when not spelled like ``name``

    @property
    def environment_variable(self) -> str | None:
        """The environment variable read for this setting, if any."""
        return (self.variable or self.name) if self.parse else None


SETTINGS: tuple[Setting, ...] = (
    # where it runs
    Setting("PORT", 5000, "port for `make run` / `provider serve`",
            parse=int, checks=(port_number,)),
    Setting("PROVIDER_ISSUER", None, "the `iss` of every token and the base of discovery; "
            "unset: http://127.0.0.1:$PORT", parse=str, checks=(issuer_url,)),
    Setting("DATABASE_URL", None, "any SQLAlchemy URL; unset: a SQLite file in the instance "
            "folder", parse=str),
    Setting("PROVIDER_SQLITE_BUSY_TIMEOUT_MS", 15000,
            "SQLite only: how long a writer waits for the lock before giving up"),
    Setting("PROVIDER_DB_POOL_SIZE", 4, "PostgreSQL: connections each worker process keeps",
            parse=int, checks=(whole_number_from_one,)),
    Setting("PROVIDER_DB_POOL_MAX_OVERFLOW", 4, "PostgreSQL: connections a worker may open "
            "beyond the pool when busy", parse=int, checks=(whole_number_from_zero,)),
    Setting("PROVIDER_DB_POOL_TIMEOUT_SECONDS", 3, "PostgreSQL: how long a request waits "
            "for a free connection before 503", parse=float, checks=(positive_seconds,)),
    Setting("PROVIDER_DB_CONNECT_TIMEOUT_SECONDS", 3, "PostgreSQL: how long opening a "
            "connection may take before 503", parse=int, checks=(whole_number_from_one,)),
    Setting("PROVIDER_DB_STATEMENT_TIMEOUT_MS", 5000, "PostgreSQL: the deadline of every "
            "statement and lock wait, milliseconds", parse=int,
            checks=(whole_number_from_one,)),
    Setting("REDIS_URL", None, "Redis for the access-token deny-list and the rate-limit "
            "counters; unset: the database holds the one, each process the other", parse=str),
    Setting("PROVIDER_DENYLIST_KEY_PREFIX", "provider:denied-jti:",
            "Redis deny-list keys are this prefix + jti"),
    Setting("PROVIDER_LOGIN_THROTTLE_KEY_PREFIX", "provider:login-throttle:",
            "Redis sign-in failure counters are keys under this prefix"),
    Setting("PROVIDER_REDIS_TIMEOUT_SECONDS", 0.5, "how long a request waits for Redis before "
            "failing closed with 503 (the deny-list) or open (rate limits)"),
    # rate limits (provider/rate_limits/), in the notation of `limits`; "" or "off": none
    Setting("PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT", "", "token requests per client id, "
            "counting only those whose client authenticated", parse=str, checks=(rate_limit,)),
    Setting("PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS", "", "token requests per client address",
            parse=str, checks=(rate_limit,)),
    Setting("PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS", "600 per minute", "authorization "
            "requests per client address from browsers not signed in", parse=str,
            checks=(rate_limit,)),
    Setting("PROVIDER_RATE_LIMIT_REGISTRATION_PER_ADDRESS", "20 per hour", "client "
            "registrations per client address (the registration endpoint)", parse=str,
            checks=(rate_limit,)),
    Setting("PROVIDER_RATE_LIMIT_KEY_PREFIX", "provider:ratelimit:",
            "Redis keys of the rate-limit counters start with this prefix"),
    Setting("PROVIDER_JOBS_TICK_SECONDS", 15,
            "how often each worker looks for due background jobs"),
    # signing keys
    Setting("PROVIDER_KEY_ENCRYPTION_KEY", None, "32 bytes, base64url: encrypts private signing "
            "keys at rest; unset: the instance folder's key_encryption_key", parse=str),
    Setting("PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS", [],
            "earlier key-encryption keys: they still decrypt, never encrypt", parse=words),
    Setting("PROVIDER_SIGNING_ALGORITHMS", ["RS256", "PS256", "ES256", "EdDSA"],
            "algorithms with an active key; RS256 cannot be switched off",
            parse=words, checks=(signing_algorithms,)),
    Setting("PROVIDER_ACCESS_TOKEN_ALG", "RS256", "the algorithm access tokens are signed with",
            parse=str, checks=(enabled_signing_algorithm,)),
    Setting("PROVIDER_KEY_ROTATION_INTERVAL", 0,
            "seconds between automatic signing-key rotations; 0 = off",
            parse=int, checks=(interval_seconds,)),
    Setting("PROVIDER_KEY_CACHE_SECONDS", 10,
            "how long a process may use its cached key set before re-reading the database"),
    Setting("PROVIDER_DISCOVERY_MAX_AGE", 300,
            "Cache-Control max-age of discovery and JWKS responses, seconds"),
    # logout and calls to relying parties
    Setting("PROVIDER_LOGOUT_REVOKES_OFFLINE", False, "logout also ends other clients' "
            "offline_access families (Back-Channel Logout §2.7 advises against it)"),
    Setting("PROVIDER_LOGOUT_DENYLISTS_ACCESS_TOKENS", True,
            "logout deny-lists the session's live access tokens"),
    Setting("PROVIDER_OUTBOUND_ALLOW_PRIVATE", False,
            "allow back-channel deliveries to private, link-local or loopback addresses"),
    Setting("PROVIDER_OUTBOUND_DEADLINE_SECONDS", 10, "one back-channel attempt, connect to "
            "last byte read, ends after this many seconds (at most 60)",
            checks=(outbound_deadline_seconds,)),
    # passwords and the sign-in throttle (RFC 6749 §10.10, provider/accounts/throttle.py)
    Setting("PROVIDER_PASSWORD_TIME_COST", 3, "argon2id time cost (tests lower it)"),
    Setting("PROVIDER_PASSWORD_MEMORY_COST", 65536, "argon2id memory cost, KiB (tests lower it)"),
    Setting("PROVIDER_PASSWORD_PARALLELISM", 4, "argon2id parallelism (tests lower it)"),
    Setting("PROVIDER_LOGIN_FREE_ATTEMPTS", 5,
            "failed sign-ins per (account, client address) before the back-off starts",
            checks=(whole_number_from_one,)),
    Setting("PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS", 20,
            "failed sign-ins per account, from every address, before the back-off starts",
            checks=(whole_number_from_one,)),
    Setting("PROVIDER_LOGIN_BACKOFF_SECONDS", 1, "the first back-off; each failure doubles it",
            checks=(whole_number_from_one,)),
    Setting("PROVIDER_LOGIN_BACKOFF_MAX_SECONDS", 900, "the back-off's cap",
            checks=(whole_number_from_one, at_least("PROVIDER_LOGIN_BACKOFF_SECONDS"))),
    # a counter forgotten while its back-off runs would hand out fresh free attempts
    Setting("PROVIDER_LOGIN_THROTTLE_RESET_SECONDS", 24 * 3600,
            "a counter with no failure for this long starts again from zero",
            checks=(whole_number_from_one, exceeding("PROVIDER_LOGIN_BACKOFF_MAX_SECONDS"))),
    # tokens and authorization
    Setting("PROVIDER_DEFAULT_AUDIENCE", None,
            "`aud` of access tokens when no resource is requested; unset: the issuer", parse=str),
    Setting("PROVIDER_REQUIRE_PKCE", "public", "`public`: PKCE S256 mandatory for public "
            "clients; `all`: for every client", parse=str, checks=(pkce_policy,)),
    Setting("PROVIDER_ACCESS_TOKEN_TTL", 900, "access-token lifetime, seconds", parse=int),
    Setting("PROVIDER_ID_TOKEN_TTL", 3600, "ID-token lifetime, seconds", parse=int),
    Setting("PROVIDER_CODE_TTL", 60, "authorization-code lifetime, seconds", parse=int),
    Setting("PROVIDER_INTERACTION_TTL", 600, "lifetime of a pending login/consent page, seconds"),
    Setting("PROVIDER_SESSION_TTL", 8 * 3600, "lifetime of a browser login session, seconds"),
    Setting("PROVIDER_REFRESH_GRACE_SECONDS", 10, "window in which a repeat of a just-rotated "
            "refresh token gets the same successor back; 0 = any reuse revokes the family",
            parse=int, checks=(non_negative_whole_seconds,)),
    Setting("PROVIDER_REFRESH_IDLE_TTL", 14 * 24 * 3600,
            "a refresh token unused this long expires", parse=int,
            checks=(non_negative_whole_seconds,)),
    Setting("PROVIDER_REFRESH_ABSOLUTE_TTL", 30 * 24 * 3600,
            "a token family's absolute lifetime; rotation never extends it", parse=int,
            checks=(non_negative_whole_seconds,)),
    # `provider serve`
    Setting("PROVIDER_TRUSTED_PROXIES", [], "networks of the reverse proxies whose "
            "forwarding header names the client's address (such as 10.0.0.0/8 127.0.0.1); "
            "empty: none is believed", parse=words, checks=(ip_networks,)),
    Setting("PROVIDER_FORWARDED_HEADER", "x-forwarded-for", "the header those proxies set: "
            "`x-forwarded-for` or `forwarded` (RFC 7239)", parse=str.lower,
            checks=(one_of("x-forwarded-for", "forwarded"),)),
    Setting("PROVIDER_LOG_FORMAT", "json", "`provider serve`'s log lines: `json` (one "
            "object a line) or `text`", parse=str, checks=(one_of("json", "text"),)),
    Setting("PROVIDER_REQUEST_READ_TIMEOUT_SECONDS", 30, "`provider serve`: how long a client "
            "may take to send a whole request, headers and body", checks=(positive_seconds,)),
    # {issuer}/metrics: closed unless one of these is set
    Setting("PROVIDER_METRICS_TOKEN", None, "the bearer token `/metrics` asks for, 16 "
            "characters or more; unset: 401 unless PROVIDER_METRICS_OPEN", parse=str,
            checks=(metrics_token,)),
    Setting("PROVIDER_METRICS_OPEN", False, "`/metrics` answers anyone, without a token",
            parse=flag, checks=(boolean, not_with("PROVIDER_METRICS_TOKEN"))),
)

# Flask's and Flask-SQLAlchemy's own keys, fixed by the provider rather than operator settings.
FLASK_SETTINGS: dict[str, Any] = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_NAME": "provider_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
}

SETTING: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
DEFAULTS: dict[str, Any] = {**{s.name: s.default for s in SETTINGS}, **FLASK_SETTINGS}
# Environment variables read, each with its setting.
ENVIRONMENT: dict[str, Setting] = {
    s.environment_variable: s for s in SETTINGS if s.environment_variable is not None}
