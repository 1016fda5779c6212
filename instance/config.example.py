# Copy to instance/config.py and edit. Loaded after the built-in defaults and
# before the environment variables, which override what is set here.
# Every name below is optional; the values shown are the defaults.

# The issuer: the `iss` of every token and the base URL of discovery.
# Must be https anywhere but this machine's loopback.
# PROVIDER_ISSUER = "https://login.example.com"

# PORT = 5000
# DATABASE_URL = "postgresql+psycopg://provider:secret@db.internal/provider"

# Redis for the access-token deny-list, shared by every worker and host (unset: the
# database holds it). Keys are PREFIX + jti; a request waits at most TIMEOUT seconds
# for Redis, then fails closed with 503.
# REDIS_URL = "rediss://:password@cache.internal:6380/0"
# PROVIDER_DENYLIST_KEY_PREFIX = "provider:denied-jti:"
# PROVIDER_REDIS_TIMEOUT_SECONDS = 0.5

# `aud` of access tokens when no resource is requested (default: the issuer).
# PROVIDER_DEFAULT_AUDIENCE = "https://api.example.com"

# "public": PKCE S256 mandatory for public clients, honoured for all.
# "all": mandatory for every client (OAuth 2.1; `provider check` recommends it).
# PROVIDER_REQUIRE_PKCE = "public"

# Lifetimes, in seconds.
# PROVIDER_ACCESS_TOKEN_TTL = 900      # JWT access tokens (RFC 9068)
# PROVIDER_ID_TOKEN_TTL = 3600
# PROVIDER_CODE_TTL = 60               # authorization codes
# PROVIDER_INTERACTION_TTL = 600       # a pending login/consent page
# PROVIDER_SESSION_TTL = 28800         # a browser login session

# How long a process may use a cached key set before re-reading the database.
# PROVIDER_KEY_CACHE_SECONDS = 10
# Cache-Control max-age of discovery and JWKS responses.
# PROVIDER_DISCOVERY_MAX_AGE = 300

# argon2id cost for user passwords (argon2-cffi defaults; lower only in tests).
# PROVIDER_PASSWORD_TIME_COST = 3
# PROVIDER_PASSWORD_MEMORY_COST = 65536   # KiB
# PROVIDER_PASSWORD_PARALLELISM = 4

# SQLite only: how long a writer waits for the lock before giving up.
# PROVIDER_SQLITE_BUSY_TIMEOUT_MS = 15000
