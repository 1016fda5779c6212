"""Column types for the numbers that outgrow 32 bits: epoch seconds (``now`` plus a
long TTL is past 2**31 - 1 today, and from January 2038 every ``now`` is) and
autoincrement row ids (a row per token issued adds up).

Both are BIGINT on PostgreSQL, whose INTEGER is 32-bit. On SQLite they stay INTEGER,
which is 64-bit there already, so that an ``INTEGER PRIMARY KEY`` remains the rowid
(and autoincrements) and the SQLite schema needs no table rebuild.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# seconds since the epoch: ``*_at``, ``expires_at``, ``auth_time``, ``blocked_until``...
EpochSeconds = BigInteger().with_variant(Integer(), "sqlite")

# an autoincrement primary key, and any column that holds one
RowId = BigInteger().with_variant(Integer(), "sqlite")
