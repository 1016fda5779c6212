"""The counters in Redis (``REDIS_URL``): a hash per counter (failures, last failure,
blocked until), claimed by one Lua script, so a claim is as atomic as the database's
conditional upsert and costs one round trip. Each counter expires by itself once it
would be forgotten anyway (no purge), and an account's counters are listed in a set so
that ``provider users unlock`` finds them all.

Any Redis error becomes ``CountersUnavailable``: sign-in fails closed.
"""

from __future__ import annotations

import redis

from .interface import Counter, CountersUnavailable, Schedule

# KEYS: the account counter, the pair counter, the account's set of counters.
# ARGV: now, reset, account_free, free, first back-off, cap, TTL.
CLAIM = """
local now, reset = tonumber(ARGV[1]), tonumber(ARGV[2])
local blocked = 0
for i = 1, 2 do
  local b = tonumber(redis.call('HGET', KEYS[i], 'b') or '0')
  if b > now and b > blocked then blocked = b end
end
if blocked > 0 then return blocked - now end
local frees = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local first, cap, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
for i = 1, 2 do
  local f = tonumber(redis.call('HGET', KEYS[i], 'f') or '0')
  local l = tonumber(redis.call('HGET', KEYS[i], 'l') or '0')
  local b = tonumber(redis.call('HGET', KEYS[i], 'b') or '0')
  if l <= now - reset then f = 1 else f = f + 1 end
  if f >= frees[i] then
    local delay = math.min(first * 2 ^ math.min(f - frees[i], 40), cap)
    if now + delay > b then b = now + delay end
  end
  redis.call('HSET', KEYS[i], 'f', f, 'l', now, 'b', b)
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('SADD', KEYS[3], KEYS[1], KEYS[2])
redis.call('EXPIRE', KEYS[3], ttl)
return 0
"""

# KEYS: the account counter, the pair counter. ARGV: account_free.
FORGET_SUCCESS = """
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
if f > 0 then
  f = f - 1
  if f <= 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'f', f)
    if f < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'b', 0) end
  end
end
redis.call('DEL', KEYS[2])
return 0
"""


# KEYS: the account counter, the account's set of counters. One script, so a claim
# cannot add a counter between reading the set and dropping it (leaving one unlisted).
UNLOCK = """
local removed = redis.call('DEL', KEYS[1])
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if key ~= KEYS[1] then removed = removed + redis.call('DEL', key) end
end
redis.call('DEL', KEYS[2])
return removed
"""


class RedisLoginCounters:
    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self.prefix = prefix
        self._claim = client.register_script(CLAIM)
        self._forget_success = client.register_script(FORGET_SUCCESS)
        self._unlock = client.register_script(UNLOCK)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _index(self, account: str) -> str:
        return f"{self.prefix}account:{account}"

    def claim(self, account: str, pair: str, schedule: Schedule, now: int) -> int:
        # a counter lives until it would be forgotten, and at least as long as a block
        ttl = max(schedule.reset, schedule.backoff_max) + 60
        try:
            wait = self._claim(
                keys=[self._key(account), self._key(pair), self._index(account)],
                args=[now, schedule.reset, schedule.account_free, schedule.free,
                      schedule.backoff, schedule.backoff_max, ttl])
        except redis.RedisError as exc:
            raise CountersUnavailable(f"Redis sign-in counters failed: {exc}") from exc
        return max(1, int(wait)) if int(wait) else 0

    def forget_success(self, account: str, pair: str, schedule: Schedule) -> None:
        try:
            self._forget_success(keys=[self._key(account), self._key(pair)],
                                 args=[schedule.account_free])
        except redis.RedisError as exc:
            raise CountersUnavailable(f"Redis sign-in counters failed: {exc}") from exc

    def unlock(self, account: str) -> int:
        try:
            return int(self._unlock(keys=[self._key(account), self._index(account)]))
        except redis.RedisError as exc:
            raise CountersUnavailable(f"Redis sign-in counters failed: {exc}") from exc

    def purge_stale(self, schedule: Schedule, now: int) -> int:
        """Nothing to do: each counter expires by itself."""
        return 0

    def counter(self, key: str) -> Counter | None:
        try:
            fields = self._client.hgetall(self._key(key))
        except redis.RedisError as exc:
            raise CountersUnavailable(f"Redis sign-in counters failed: {exc}") from exc
        if not fields:
            return None
        return Counter(int(fields[b"f"]), int(fields[b"l"]), int(fields[b"b"]))
