"""Which replica runs which camera: rendezvous hashing over live replicas, made exclusive by
leases in Redis.

- Each replica heartbeats into a sorted set (score = Redis server time, so replicas' clocks do
  not matter); entries older than the lease TTL are dropped, so a dead replica leaves the set
  within one TTL.
- Every replica computes the same preferred owner of a camera from the live set (highest
  hash of replica and camera): cameras spread evenly, and a replica joining or leaving moves
  only its share.
- A replica runs a camera only while it holds the camera's lease (`SET NX PX`, renewed each
  round). A preferred owner waits until the old owner releases (hand-over) or its lease
  expires (death): one live replica per camera, even while the set changes.

Why Redis leases, not Postgres advisory locks: a lock lives as long as its connection, so a
replica that hangs or loses its network keeps its cameras until TCP keepalive gives up
(minutes), and each replica would hold a connection for it. A lease bounds failover by its TTL
whatever the failure, and Redis is already there. See docs/cameras.md for the measurements.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import redis.asyncio as aioredis

REPLICAS = "facegate:camera_ingest:replicas"
LEASE = "facegate:camera_ingest:lease:"

# ARGV: token, ttl_ms. Registers the caller, forgets replicas silent for a TTL, lists the live.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

# KEYS: leases; ARGV: token, ttl_ms. Renews the caller's leases and takes free ones; 1 = held.
_CLAIM = """
local held = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[i] = 1
  elseif not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
"""

# KEYS: leases; ARGV: token. Deletes only the caller's own leases.
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""


def preferred_owner(camera_id: str, replicas: list[str]) -> str | None:
    """Rendezvous (highest random weight) hashing: the same answer on every replica."""

    def weight(replica: str) -> bytes:
        return hashlib.blake2b(f"{replica}\x00{camera_id}".encode(), digest_size=8).digest()

    return max(replicas, key=weight) if replicas else None


class Leases:
    """This replica's heartbeat and camera leases."""

    def __init__(self, redis: aioredis.Redis, token: str, ttl_s: float) -> None:
        self.redis, self.token, self.ttl_ms = redis, token, int(ttl_s * 1000)

    async def heartbeat(self) -> list[str]:
        """Announce this replica; return the live replicas (this one included)."""
        live = await cast(Any, self.redis.eval(_HEARTBEAT, 1, REPLICAS, self.token, self.ttl_ms))
        return sorted(r.decode() if isinstance(r, bytes) else str(r) for r in live)

    async def claim(self, camera_ids: list[str]) -> set[str]:
        """Renew or take the leases of `camera_ids`; return those this replica now holds."""
        if not camera_ids:
            return set()
        keys = [LEASE + c for c in camera_ids]
        held = await cast(Any, self.redis.eval(_CLAIM, len(keys), *keys, self.token, self.ttl_ms))
        return {c for c, ok in zip(camera_ids, held, strict=True) if int(ok)}

    async def release(self, camera_ids: list[str]) -> None:
        if camera_ids:
            keys = [LEASE + c for c in camera_ids]
            await cast(Any, self.redis.eval(_RELEASE, len(keys), *keys, self.token))

    async def leave(self, camera_ids: list[str]) -> None:
        """Graceful exit: hand the cameras over at once instead of after a TTL."""
        await self.redis.zrem(REPLICAS, self.token)
        await self.release(camera_ids)
