"""Safety rules: the unsafe settings ``provider check`` lists and that stop an unsafe start."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .validation import ConfigurationError

MIN_SECRET_BYTES = 32
KNOWN_DEVELOPMENT_SECRETS = {"dev", "development", "secret", "changeme", "change-me", "test"}


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
    if config.get("PROVIDER_METRICS_OPEN"):
        add("warning", "PROVIDER_METRICS_OPEN", "/metrics answers anyone: request rates, "
            "sign-in failures and the like; set PROVIDER_METRICS_TOKEN instead unless only "
            "the scraper can reach it")
    if _trusts_everyone(config.get("PROVIDER_TRUSTED_PROXIES") or ()):
        add("error" if https else "warning", "PROVIDER_TRUSTED_PROXIES",
            "a network that holds every address is trusted: any caller can name its own "
            "address in X-Forwarded-For and escape rate limits and the sign-in throttle")
    if int(config["PROVIDER_PASSWORD_MEMORY_COST"]) < 19456:
        add("error" if https else "warning", "PROVIDER_PASSWORD_MEMORY_COST",
            "argon2id memory below the OWASP minimum of 19 MiB (test setting)")
    return findings


def _trusts_everyone(networks: Any) -> bool:
    """True if a trusted-proxy network is a whole address family (0.0.0.0/0, ::/0)."""
    for value in networks:
        try:
            if ipaddress.ip_network(str(value), strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue  # the setting's own check names it
    return False


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
