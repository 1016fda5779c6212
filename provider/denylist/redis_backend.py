"""The deny-list in Redis (``REDIS_URL``): one key per recalled ``jti``.

Every worker and every host sees an entry the moment it is written, and Redis
drops it by itself when the token would be dead anyway: the key's TTL is the
token's remaining lifetime. The check is one ``EXISTS``, one round trip.

Writes happen at once, not at the database commit: if the request that denied
a token then fails, the token stays denied. That errs on the safe side. A write
Redis does not take is kept in the database by ``denylist.deny`` (``pending``).
Any Redis error becomes ``DenyListUnavailable``, never "not denied".
"""

from __future__ import annotations

import redis

from .. import clock
from .interface import DenyListUnavailable


class RedisDenyList:
    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        """``client`` is on the deny-list's pool (``redis_connection``)."""
        self._client = client
        self.prefix = prefix

    def key(self, jti: str) -> str:
        return self.prefix + jti

    def deny(self, jti: str, expires_at: int, reason: str) -> bool:
        ttl = expires_at - clock.now()
        if ttl <= 0:
            return False
        try:
            # NX keeps the first reason and TTL; a repeat is a no-op, as in the database
            return bool(self._client.set(self.key(jti), reason, ex=ttl, nx=True))
        except redis.RedisError as exc:
            raise DenyListUnavailable(f"Redis deny-list write failed: {exc}") from exc

    def is_denied(self, jti: str) -> bool:
        try:
            return bool(self._client.exists(self.key(jti)))
        except redis.RedisError as exc:
            raise DenyListUnavailable(f"Redis deny-list check failed: {exc}") from exc

    def purge_expired(self) -> int:
        """Nothing to do: each key expires with its token."""
        return 0

    def close(self) -> None:
        """Close the deny-list's connections (its pool opens new ones when next used)."""
        self._client.connection_pool.disconnect()
