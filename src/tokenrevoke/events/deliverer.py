"""The background deliverer: publishes the outbox and pushes SETs to every receiver.

Each round it (1) publishes newly committed events (positions, one pending delivery per
configured receiver) and tells the listeners (SSE subscribers, Redis); (2) claims due
deliveries, leased so that no other node pushes them meanwhile; (3) pushes them, in order
per receiver and receivers side by side; (4) records each outcome. A delivery is marked
delivered only after the receiver accepted it, so a crash anywhere means a retry, never a
loss (at least once; receivers deduplicate by `jti`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from tokenrevoke.crypto import SecretBox
from tokenrevoke.events.push import PushResult, Receiver, backoff, push, reveal_authorization
from tokenrevoke.events.set import security_event_token
from tokenrevoke.model import AppConfiguration, Delivery, DeliveryOutcome, PublishedEvents
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.store import Store, StoreUnavailable

log = logging.getLogger("tokenrevoke.events")

POLL_SECONDS = 0.2
PUBLISH_LIMIT = 500
CLAIM_LIMIT = 20
# Longer than a whole claim takes to push (CLAIM_LIMIT pushes, each with its timeout); a
# deliverer that dies holding a claim delays those events by at most this much.
LEASE_SECONDS = 120

Listener = Callable[[PublishedEvents], Awaitable[None]]


def receivers(cfg: AppConfiguration, box: SecretBox | None = None) -> list[Receiver]:
    """The configured receivers; with the box, their `authorization` decrypted (it is
    stored sealed: configapi/config.py)."""
    return [
        Receiver.from_config(
            {**item, "authorization": reveal_authorization(box, item)} if box else item
        )
        for item in cfg.revocation_event_receivers
    ]


class EventDeliverer:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        config: Callable[[], AppConfiguration],
        listeners: Sequence[Listener] = (),
        box: SecretBox | None = None,
    ) -> None:
        self._store = store
        self._keys = keys
        self._box = box
        self._config = config
        self._listeners = list(listeners)
        self._http = httpx.AsyncClient(follow_redirects=False)

    async def run(self) -> None:
        """Deliver until cancelled; a store outage only pauses it."""
        while True:
            busy = False
            try:
                busy = await self.step()
            except StoreUnavailable as exc:
                log.warning("store unavailable for revocation events: %s", exc)
            except Exception:
                log.exception("revocation event delivery step failed")
            if not busy:
                await asyncio.sleep(POLL_SECONDS)

    async def step(self) -> bool:
        """One round; True when there was work (the next round follows at once)."""
        cfg = self._config()
        targets = {r.url: r for r in receivers(cfg, self._box)}
        published = await self._store.publish_events(list(targets), PUBLISH_LIMIT)
        for listener in self._listeners if published else ():
            try:
                await listener(published)
            except Exception:
                log.exception("a revocation event listener failed")
        claimed = await self._claim(list(targets))
        by_receiver: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            by_receiver.setdefault(delivery.receiver, []).append(delivery)
        cap = cfg.revocation_event_retry_max_seconds
        issuer = cfg.issuer
        await asyncio.gather(
            *(
                self._deliver(targets[url], deliveries, issuer, cap)
                for url, deliveries in by_receiver.items()
            )
        )
        return bool(published) or len(claimed) == CLAIM_LIMIT

    async def _claim(self, urls: list[str]) -> list[Delivery]:
        """Claim due deliveries. A shutdown while the claim is being written does not
        abandon it (on SQLite the writer thread commits it anyway): it is handed back, or
        its lease would hold those events for LEASE_SECONDS after a restart."""
        now = int(time.time())
        claim = asyncio.ensure_future(
            self._store.claim_deliveries(urls, now, LEASE_SECONDS, CLAIM_LIMIT)
        )
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            with contextlib.suppress(StoreUnavailable):
                await self._hand_back(await claim, [])
            raise

    async def _hand_back(self, claimed: list[Delivery], outcomes: list[DeliveryOutcome]) -> None:
        """Settle `outcomes`, and the rest of `claimed` (not pushed) as due now."""
        now = int(time.time())
        outcomes = outcomes + [
            DeliveryOutcome(d.receiver, _position(d), False, now, "interrupted")
            for d in claimed[len(outcomes) :]
        ]
        if outcomes:
            await self._store.settle_deliveries(outcomes, now)

    async def _deliver(
        self, receiver: Receiver, deliveries: list[Delivery], issuer: str, cap: int
    ) -> None:
        outcomes: list[DeliveryOutcome] = []
        try:
            for delivery in deliveries:
                token = security_event_token(self._keys, delivery.event, issuer, receiver.audience)
                result = await push(self._http, receiver, token)
                outcomes.append(self._outcome(receiver, delivery, result, cap))
                if not result.delivered and not result.final:
                    # The receiver is unwell: the rest of its claim waits with this one
                    # rather than each costing a timeout now.
                    retry_at = outcomes[-1].retry_at
                    outcomes += [
                        DeliveryOutcome(receiver.url, _position(d), False, retry_at, result.error)
                        for d in deliveries[len(outcomes) :]
                    ]
                    break
        finally:
            # Shutting down mid-claim: hand back what was not pushed, so that after a
            # restart it goes out at once instead of when the lease runs out.
            with contextlib.suppress(StoreUnavailable):
                await self._hand_back(deliveries, outcomes)

    @staticmethod
    def _outcome(
        receiver: Receiver, delivery: Delivery, result: PushResult, cap: int
    ) -> DeliveryOutcome:
        position = _position(delivery)
        if result.delivered:
            return DeliveryOutcome(receiver.url, position, True)
        if result.final:
            log.error(
                "receiver %s rejected revocation event %s for good: %s",
                receiver.url, delivery.event.id, result.error,
            )  # fmt: skip
            return DeliveryOutcome(receiver.url, position, False, None, result.error)
        delay = backoff(delivery.attempts, cap, result.retry_after)
        log.warning(
            "revocation event %s not delivered to %s (attempt %d: %s); retrying in %.0fs",
            delivery.event.id, receiver.url, delivery.attempts, result.error, delay,
        )  # fmt: skip
        return DeliveryOutcome(
            receiver.url, position, False, int(time.time() + delay + 0.999), result.error
        )

    async def close(self) -> None:
        await self._http.aclose()


def _position(delivery: Delivery) -> int:
    assert delivery.event.position is not None  # claimed events are published
    return delivery.event.position
