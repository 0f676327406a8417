"""Tells SSE subscribers on this node that new events exist: at once for events this node
published, within a poll for those another node published (shared PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tokenrevoke.model import PublishedEvents
from tokenrevoke.store import Store, StoreUnavailable

log = logging.getLogger("tokenrevoke.events")

POLL_SECONDS = 0.25


class EventFeed:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.latest = 0
        self._changed = asyncio.Condition()
        self.subscribers = 0
        self.closed = False  # the server is shutting down: streams end

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.subscribers:
                continue  # nobody listening: no need to look
            try:
                await self._advance(await self._store.latest_event_position())
            except StoreUnavailable as exc:
                log.warning("store unavailable for the event feed: %s", exc)

    async def on_published(self, events: PublishedEvents) -> None:
        await self._advance(events.last_position)

    def close(self) -> None:
        """End every stream (at shutdown; must run on the event loop's thread)."""
        self.closed = True
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _advance(self, position: int) -> None:
        if position > self.latest:
            self.latest = position
            async with self._changed:
                self._changed.notify_all()

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        """True once an event above `position` may exist; False after `seconds` (or at
        once when the feed is closed)."""
        if self.latest > position or self.closed:
            return self.latest > position
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds), self._changed:
                await self._changed.wait_for(lambda: self.latest > position or self.closed)
        return self.latest > position
