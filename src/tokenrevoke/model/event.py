"""Revocation events: what one committed revocation (or one committed batch of a large
one) revoked. Only token hashes (sha256_hex codes) ever appear, never raw tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class RevocationEvent:
    """One outbox row. `position` is None until the event is published (see the store's
    `publish_events`); subscribers resume from positions."""

    id: str  # unique; the SET's `jti`
    revocation_id: str  # shared by every batch of one revocation
    batch: int  # 1, 2, ... for client/user/session revocations committed in batches
    revoked_at: int
    action: str
    actor: str
    reason: str
    target: str  # "grant", "client", "user" or "session"
    target_values: tuple[str, ...]
    token_hashes: tuple[str, ...]
    grant_ids: tuple[str, ...]
    client_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    position: int | None = None
    # Some revoked token names no user (a client's own token): then even one user id
    # does not make the tokens that user's.
    userless_tokens: bool = False

    def to_json(self) -> dict[str, Any]:
        """The wire form (SSE `data`, Redis messages, the SET's extension members)."""
        return {
            "id": self.id,
            "position": self.position,
            "revocationId": self.revocation_id,
            "batch": self.batch,
            "revokedAt": self.revoked_at,
            "action": self.action,
            "actor": self.actor,
            "reason": self.reason,
            "target": {"type": self.target, "values": list(self.target_values)},
            "tokenHashes": list(self.token_hashes),
            "grantIds": list(self.grant_ids),
            "clientIds": list(self.client_ids),
            "userIds": list(self.user_ids),
        }


class PublishedEvents(Sequence[RevocationEvent]):
    """The events a publisher has just positioned, decoded when first read. The node's
    own SSE feed needs only their last position; decoding every event on the event loop
    cost ~10% of its time under a revocation load (docs/benchmarks.md), for listeners
    that may not exist (the Redis echo)."""

    __slots__ = ("_decode", "_events", "_rows")

    def __init__(
        self,
        rows: Sequence[tuple[Any, int]],
        decode: Callable[[Any, int], RevocationEvent],
    ) -> None:
        self._rows = rows  # (stored body, position), in position order
        self._decode = decode
        self._events: list[RevocationEvent] | None = None

    @property
    def last_position(self) -> int:
        """The highest position among them (0 when there are none)."""
        return self._rows[-1][1] if self._rows else 0

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> RevocationEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[RevocationEvent]: ...

    def __getitem__(self, index: int | slice) -> RevocationEvent | list[RevocationEvent]:
        if self._events is None:
            self._events = [self._decode(body, position) for body, position in self._rows]
        return self._events[index]


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event claimed for pushing to one receiver; `attempts` includes this one."""

    receiver: str
    attempts: int
    event: RevocationEvent


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How a push went: delivered, due again at `retry_at`, or (neither) given up on."""

    receiver: str
    position: int
    delivered: bool
    retry_at: int | None = None
    error: str | None = None
