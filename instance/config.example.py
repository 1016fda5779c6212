# Copy to instance/config.py and edit. Loaded after the built-in defaults and
# before the environment variables, which override what is set here.
# Every name below is optional; the values shown are the defaults.

# The issuer: the `iss` of every token and the base URL of discovery.
# Must be https anywhere but this machine's loopback.
# PROVIDER_ISSUER = "https://login.example.com"

# PORT = 5000
# DATABASE_URL = "postgresql+psycopg://provider:secret@db.internal/provider"

# PostgreSQL only: each worker's pool (kept, and extra when busy), how long a request
# waits for a pooled connection or for a new one, and every statement's deadline.
# PROVIDER_DB_POOL_SIZE = 4
# PROVIDER_DB_POOL_MAX_OVERFLOW = 4
# PROVIDER_DB_POOL_TIMEOUT_SECONDS = 3
# PROVIDER_DB_CONNECT_TIMEOUT_SECONDS = 3
# PROVIDER_DB_STATEMENT_TIMEOUT_MS = 5000

# Redis for the access-token deny-list and the rate-limit counters, shared by every
# worker and host (unset: the database holds the deny-list, each process its own
# counters). Keys are PREFIX + jti; a request waits at most TIMEOUT seconds for Redis,
# then fails closed with 503 (rate limits fail open).
# REDIS_URL = "rediss://:password@cache.internal:6380/0"
# PROVIDER_DENYLIST_KEY_PREFIX = "provider:denied-jti:"
# PROVIDER_LOGIN_THROTTLE_KEY_PREFIX = "provider:login-throttle:"
# PROVIDER_REDIS_TIMEOUT_SECONDS = 0.5

# Rate limits, answered 429 with Retry-After, in the notation of `limits`
# ("600 per minute", "10/second", several separated by ";"); "" or "off" for none.
# Per client address (REMOTE_ADDR; loopback included) or per client id, counting only
# requests in which that client authenticated. Counters are in Redis when REDIS_URL is
# set (keys start with the prefix), else in each process, so N processes allow up to N
# times a limit.
# PROVIDER_RATE_LIMIT_TOKEN_PER_CLIENT = ""           # such as "10000 per minute"
# PROVIDER_RATE_LIMIT_TOKEN_PER_ADDRESS = ""
# PROVIDER_RATE_LIMIT_AUTHORIZE_PER_ADDRESS = "600 per minute"  # browsers not signed in
# PROVIDER_RATE_LIMIT_REGISTRATION_PER_ADDRESS = "20 per hour"
# PROVIDER_RATE_LIMIT_KEY_PREFIX = "provider:ratelimit:"

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

# Sign-in throttling (RFC 6749 §10.10). Free failed passwords per (account, client
# address) and per account from every address; after that each failure starts a
# back-off that doubles from the first value up to the cap (more than 900 s lets anyone
# who knows a username lock that account out for longer). A counter with no failure
# for the reset time starts again from zero. `provider users unlock USERNAME` clears it.
# PROVIDER_LOGIN_FREE_ATTEMPTS = 5
# PROVIDER_LOGIN_ACCOUNT_FREE_ATTEMPTS = 20
# PROVIDER_LOGIN_BACKOFF_SECONDS = 1
# PROVIDER_LOGIN_BACKOFF_MAX_SECONDS = 900
# PROVIDER_LOGIN_THROTTLE_RESET_SECONDS = 24 * 3600

# Signing: algorithms with an active key (RS256 cannot be switched off) and the one
# access tokens use. ID tokens follow each client's id_token_signed_response_alg.
# PROVIDER_SIGNING_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
# PROVIDER_ACCESS_TOKEN_ALG = "RS256"

# Automatic key rotation, in seconds (0 = off; must exceed the discovery max-age plus
# the key cache interval). Each worker checks for due jobs every tick.
# PROVIDER_KEY_ROTATION_INTERVAL = 90 * 24 * 3600
# PROVIDER_JOBS_TICK_SECONDS = 15

# `provider serve`: how long a client may take to send a whole request (headers and
# body) before it is answered 408 and its connection closed.
# PROVIDER_REQUEST_READ_TIMEOUT_SECONDS = 30

# Reverse proxies whose X-Forwarded-For (or Forwarded) is believed: the client's
# address is the first untrusted one, walking the header from the right. Empty: the
# peer's address is the client's, whatever a header says.
# PROVIDER_TRUSTED_PROXIES = ["10.0.0.0/8"]
# PROVIDER_FORWARDED_HEADER = "x-forwarded-for"

# `provider serve`'s log lines: "json" (one object a line) or "text".
# PROVIDER_LOG_FORMAT = "json"

# {issuer}/metrics (Prometheus text): closed (401) unless a scraper's bearer token is
# set, 16 characters or more, or it is opened to anyone (never both).
# PROVIDER_METRICS_TOKEN = "a-long-random-string"
# PROVIDER_METRICS_OPEN = False

# The key-encryption key that encrypts private signing keys at rest: 32 bytes,
# base64url (default: the instance folder's key_encryption_key file, mode 0600, which
# `provider init` creates).
# PROVIDER_KEY_ENCRYPTION_KEY = "kek-base64url"

# KEK rotation: the previous KEKs still decrypt; `provider keys rewrap` re-encrypts
# every stored key under the current one, after which they can be removed.
# PROVIDER_PREVIOUS_KEY_ENCRYPTION_KEYS = ["old-kek-base64url"]

# Refresh tokens, in seconds.
# PROVIDER_REFRESH_GRACE_SECONDS = 10
# PROVIDER_REFRESH_IDLE_TTL = 14 * 24 * 3600
# PROVIDER_REFRESH_ABSOLUTE_TTL = 30 * 24 * 3600

# Logout: also end other clients' offline_access families (Back-Channel Logout 1.0
# §2.7 advises against it), and deny-list the session's live access tokens.
# PROVIDER_LOGOUT_REVOKES_OFFLINE = False
# PROVIDER_LOGOUT_DENYLISTS_ACCESS_TOKENS = True

# Back-channel deliveries to private, link-local or loopback addresses.
# PROVIDER_OUTBOUND_ALLOW_PRIVATE = False
# Seconds one back-channel attempt may take, connect to last byte read (at most 60).
# PROVIDER_OUTBOUND_DEADLINE_SECONDS = 10
