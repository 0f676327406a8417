"""Cross-node change notices over Redis pub/sub (optional).

A node that changes configuration, clients, scopes, scripts or keys publishes a notice;
every node refreshes its versioned caches at once instead of at its next poll. Polling the
store's revision counters stays on as the fallback, so a Redis outage costs only latency
(changes arrive within a poll interval), never correctness. Token liveness is never
cached, in Redis or anywhere, so no notice is needed for revocations. Revocation events
are published on their own channel for subscribers outside the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("tokenrevoke.bus")

CHANNEL = "tokenrevoke:changes"
# Every published revocation event, as JSON (docs/events.md). Pub/sub is fire-and-forget:
# a subscriber that is away misses messages; the SSE stream and push delivery do not.
EVENTS_CHANNEL = "tokenrevoke:revocation-events"
_MAX_BACKOFF = 5.0


class RedisChangeBus:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._channel = channel
        self.connected = False

    async def publish(self, kind: str) -> None:
        try:
            await self._client.publish(self._channel, kind)
        except (RedisError, OSError) as exc:
            log.warning("could not publish a change notice (%s); nodes will poll instead", exc)

    async def publish_events(self, messages: list[bytes]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for message in messages:
                    pipe.publish(EVENTS_CHANNEL, message)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not publish %d revocation events on Redis: %s", len(messages), exc)

    async def listen(self, on_change: Callable[[str], Awaitable[None]]) -> None:
        """Deliver notices until cancelled, reconnecting with backoff while Redis is away."""
        backoff = 0.2
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self.connected = True
                backoff = 0.2
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message.get("data")
                        await on_change(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("lost the Redis change bus (%s); polling until it is back", exc)
                self.connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # untyped in redis < 8

    async def close(self) -> None:
        await self._client.aclose()
