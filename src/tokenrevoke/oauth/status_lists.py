"""Token Status Lists here: index allocation for new tokens, and the published lists.

A token's bit is its tombstone: a list is built from its revoked tokens (and the bits the
purge kept of deleted ones), so whatever revokes a token, on any node, sets its bit in the
commit that writes the tombstone; there is nothing to do per revocation path. A built list
is kept at most `REBUILD_SECONDS`, so a storm of revocations costs one rebuild per list per
interval, and a list served at time T shows every revocation committed before T - 1 s.

Lists are sharded by time (`statusListPeriodSeconds`): a token issued at `now` goes to list
`now // period`, so a list stops growing when its period ends and is retired once its
tokens are all gone. Each node takes indices in blocks (`statusListIndexAllocationBlockSize`,
one store round trip per block) and hands them out in a random order, so that neighbouring
indices are not tokens issued one after the other (the draft's privacy considerations).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from tokenrevoke.model import AppConfiguration, FeatureFlag
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.status_list import (
    INVALID,
    JWT_TYP,
    StatusList,
    one_bit_indices,
    status_claim,
    token_claims,
)
from tokenrevoke.paths import AUTH
from tokenrevoke.store.base import Store

# How long a built list is served before the next request rebuilds it.
REBUILD_SECONDS = 1.0
# A build not asked for in this long is dropped.
_KEEP_SECONDS = 60.0
# A list's size is rounded up to this many bytes, so that it tells less precisely how many
# tokens were issued in its period.
SIZE_GRANULE_BYTES = 64
STATUS_LIST_PATH = f"{AUTH}/status_list"
STATUS_LIST_AGGREGATION_PATH = f"{AUTH}/status_list_aggregation"

_shuffle = secrets.SystemRandom().shuffle


def endpoint_url(cfg: AppConfiguration) -> str:
    return f"{cfg['issuer']}{STATUS_LIST_PATH}"


def aggregation_url(cfg: AppConfiguration) -> str:
    return f"{cfg['issuer']}{STATUS_LIST_AGGREGATION_PATH}"


def list_uri(cfg: AppConfiguration, list_id: int) -> str:
    """The `uri` of a token's status and the `sub` of the list's token."""
    return f"{endpoint_url(cfg)}/{list_id}"


def current_list(cfg: AppConfiguration, now: int) -> int:
    return now // cfg.status_list_period_seconds


@dataclass(frozen=True, slots=True)
class StatusRef:
    """A token's entry: its list and index."""

    list_id: int
    index: int

    def claim(self, cfg: AppConfiguration) -> dict[str, object]:
        return status_claim(self.index, list_uri(cfg, self.list_id))


class IndexAllocator:
    """Hands out indices of the current list from blocks taken from the store. The next
    block is fetched in the background once half of the current one is gone; when tokens
    are issued faster than that fetch returns, the node runs dry, and asks for twice as
    many at a time from then on (up to `MAX_SCALE` blocks). Requests that find no index
    wait together for one refill, never one after the other."""

    MAX_SCALE = 64

    def __init__(self, store: Store, config: Callable[[], AppConfiguration]) -> None:
        self._store = store
        self._config = config
        self._list_id = -1
        self._block: list[int] = []
        self._fetched = 0  # the size of the last block
        self._scale = 1
        self._next: tuple[int, asyncio.Task[list[int]]] | None = None  # (list, its fetch)
        self._refill: asyncio.Future[None] | None = None

    def enabled(self) -> bool:
        return self._config().enabled(FeatureFlag.STATUS_LIST)

    async def _fetch(self, list_id: int, count: int) -> list[int]:
        first = await self._store.allocate_status_indices(list_id, count)
        block = list(range(first, first + count))
        _shuffle(block)
        return block

    async def _take(self, list_id: int, size: int) -> None:
        try:
            pending, self._next = self._next, None
            if pending is not None and pending[0] == list_id:
                block = await pending[1]
                self._scale = min(self._scale * 2, self.MAX_SCALE)  # it came too late
            else:  # none fetched, or for an earlier list: its indices go unused
                block = await self._fetch(list_id, size * self._scale)
            # A block of an earlier list is dropped: a list takes no tokens after its
            # period, so the purge may retire it once its tokens are gone.
            self._list_id, self._block, self._fetched = list_id, block, len(block)
        finally:
            self._refill = None

    async def allocate(self, now: int) -> StatusRef:
        cfg = self._config()
        list_id = current_list(cfg, now)
        if self._list_id == list_id + 1:  # issued as the period turned: the newer list
            list_id = self._list_id
        size = cfg.status_list_index_allocation_block_size
        while list_id != self._list_id or not self._block:
            if self._refill is None:
                self._refill = asyncio.ensure_future(self._take(list_id, size))
            await asyncio.shield(self._refill)
        index = self._block.pop()
        if self._next is None and len(self._block) <= self._fetched // 2:
            task = asyncio.create_task(self._fetch(list_id, size * self._scale))
            # A fetch nobody awaits (the list changed) must not log an unretrieved error.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._next = (list_id, task)
        return StatusRef(list_id, index)

    async def close(self) -> None:
        """Stop a block fetch still running (before the store closes)."""
        pending, self._next = self._next, None
        if pending is not None and not pending[1].done():
            pending[1].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending[1]


@dataclass(frozen=True, slots=True)
class PublishedList:
    """One build of a list: its JSON form and its signed token, each with a validator."""

    list_id: int
    status_list: dict[str, object]
    json_etag: str
    jwt: str
    jwt_etag: str
    signed_at: int
    ttl: int
    built_at: float


class StatusLists:
    """The published lists, each rebuilt at most once per `REBUILD_SECONDS`."""

    def __init__(self, store: Store, keys: KeyRing, config: Callable[[], AppConfiguration]) -> None:
        self._store = store
        self._keys = keys
        self._config = config
        self._built: dict[int, PublishedList] = {}
        self._building: dict[int, asyncio.Task[PublishedList | None]] = {}

    async def get(self, list_id: int | None = None) -> PublishedList | None:
        """A list as published now (None: no such list). No id: the current list."""
        current = current_list(self._config(), int(time.time()))
        if list_id is None:
            list_id = current
        built = self._built.get(list_id)
        if built is not None and time.monotonic() - built.built_at < REBUILD_SECONDS:
            return built
        # One build at a time per list, in a task of its own: every request for the list
        # waits for it, and a request that goes away does not cancel it for the others.
        task = self._building.get(list_id)
        if task is None:
            task = asyncio.ensure_future(self._build_and_keep(list_id, list_id == current))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._building[list_id] = task
        return await asyncio.shield(task)

    async def _build_and_keep(self, list_id: int, current: bool) -> PublishedList | None:
        try:
            result = await self._build(list_id, current)
        finally:
            del self._building[list_id]
        # Builds not asked for lately go (retired lists would otherwise stay for ever).
        now = time.monotonic()
        for stale in [k for k, v in self._built.items() if now - v.built_at > _KEEP_SECONDS]:
            del self._built[stale]
        if result is not None:
            self._built[list_id] = result
        return result

    async def list_ids(self) -> list[int]:
        """The lists a verifier may need: every stored one, and the current one."""
        current = current_list(self._config(), int(time.time()))
        return sorted({*await self._store.status_list_ids(), current})

    async def _build(self, list_id: int, current: bool) -> PublishedList | None:
        cfg = self._config()
        started = time.monotonic()
        state = await self._store.read_status_list(list_id)
        if state is None and not current:
            return None
        size = state.size if state else 0
        bits = cfg.status_list_bit_size
        # The encoding (and the signature) run off the event loop: a list of millions of
        # entries takes milliseconds to compress.
        return await asyncio.to_thread(
            self._encode, cfg, list_id, bits, size, state.revoked if state else [],
            state.purged if state else b"", started,
        )  # fmt: skip

    def _encode(
        self,
        cfg: AppConfiguration,
        list_id: int,
        bits: int,
        size: int,
        revoked: list[int],
        purged: bytes,
        started: float,
    ) -> PublishedList:
        granule = SIZE_GRANULE_BYTES * 8 // bits  # entries per granule
        entries = max(granule, -(-size // granule) * granule)
        status_list = StatusList(bits, entries)
        status_list.set_all((i for i in revoked if i < entries), INVALID)
        status_list.set_all((i for i in one_bit_indices(purged) if i < entries), INVALID)
        body = status_list.to_json(rle=True)  # level 9 would take seconds at 10M entries
        lifetime = cfg.status_list_response_jwt_lifetime
        ttl = min(cfg.status_list_ttl_seconds, lifetime)
        json_etag = _etag(orjson.dumps(body))
        now = int(time.time())
        # The same list keeps its token while a verifier that caches it for `ttl` from now
        # would not hold it past its `exp`: its ETag then still answers 304, and a token
        # that validator names is never an expired one.
        previous = self._built.get(list_id)
        if (
            previous is not None
            and previous.json_etag == json_etag
            and previous.ttl == ttl
            and now + ttl < previous.signed_at + lifetime
        ):
            jwt, signed_at = previous.jwt, previous.signed_at
        else:
            claims = token_claims(list_uri(cfg, list_id), cfg.issuer, now, lifetime, ttl, body)
            jwt, signed_at = self._keys.sign(claims, typ=JWT_TYP), now
        return PublishedList(
            list_id, body, json_etag, jwt, _etag(jwt.encode()), signed_at, ttl, started
        )


def _etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()[:32]}"'
