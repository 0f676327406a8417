"""Revocation events: what one committed revocation (or one committed batch of a large
one) revoked. Only token hashes (sha256_hex codes) ever appear, never raw tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
