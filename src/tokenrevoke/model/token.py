"""Token rows (Janssen's `token` entity) and audit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A rotated refresh token's tombstone: revoked_by ROTATION, revoke_reason ROTATED when its
# holder exchanged it, SUPERSEDED when a grace-window re-exchange of its predecessor retired
# it. Presenting either again is a replay (RFC 9700 section 4.14.2).
ROTATION = "rotation"
ROTATED = "rotated"
SUPERSEDED = "superseded"
# The attribute of a rotated-in refresh token naming the tknCde of the one it replaced: the
# link the grace window follows from a family's live refresh token to its predecessor.
ROTATED_FROM = "rotated_from"
# A redeemed authorization code's tombstone: presenting it again is a replay, which
# revokes every token issued from it (RFC 6749 section 4.1.2).
REDEMPTION = "redemption"
REDEEMED = "redeemed"


class TokenType(StrEnum):
    ACCESS_TOKEN = "access_token"
    REFRESH_TOKEN = "refresh_token"
    ID_TOKEN = "id_token"
    AUTHORIZATION_CODE = "authorization_code"
    TX_TOKEN = "tx_token"

    @property
    def enum_name(self) -> str:
        """Janssen's `tokenTypeEnum` spelling (ACCESS_TOKEN, ...)."""
        return self.name


@dataclass(slots=True)
class TokenRecord:
    """One stored token. `code` is sha256_hex(raw token); the raw token is never stored.

    A revoked token keeps its row (a tombstone) until it would have expired, so that a
    revoked JWT still introspects inactive and the revocation stays auditable.
    """

    code: str
    grant_id: str
    client_id: str
    token_type: TokenType
    grant_type: str
    created_at: int
    expires_at: int
    scope: str = ""
    user_id: str | None = None
    user_dn: str | None = None
    session_id: str | None = None
    reference_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    deletable: bool = True
    # Its entry in a Token Status List (oauth/status_list.py): the list's id and the index
    # in it; None for tokens that have none (opaque tokens, or the STATUS_LIST flag off).
    status_list: int | None = None
    status_idx: int | None = None
    revoked_at: int | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def is_live(self, now: int) -> bool:
        return self.revoked_at is None and self.expires_at > now

    @property
    def retired_by_rotation(self) -> bool:
        return self.revoked_at is not None and self.revoked_by == ROTATION


@dataclass(slots=True, frozen=True)
class AuditEvent:
    """Who revoked what, why. Written in the same transaction as the revocation."""

    action: str
    actor: str
    reason: str
    client_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
