"""The settings every test instance shares: its issuer, the test users' password,
and argon2 costs cheap enough for hundreds of sign-ins per run."""

from __future__ import annotations

ISSUER = "http://127.0.0.1:5000"
PASSWORD = "correct horse battery"
CHEAP_HASHING = {
    "PROVIDER_PASSWORD_TIME_COST": 1,
    "PROVIDER_PASSWORD_MEMORY_COST": 8,
    "PROVIDER_PASSWORD_PARALLELISM": 1,
}
# The same costs as lines of a live instance's config.py.
CHEAP_CONFIG = "".join(f"{name} = {value}\n" for name, value in CHEAP_HASHING.items())
