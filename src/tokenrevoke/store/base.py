"""The Store interface. Every backend implements it and passes the same contract tests.

Writes return only after they are committed: a caller that answers 200 after `await`ing a
write has made that write durable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from tokenrevoke.model import (
    AuditEvent,
    Client,
    Scope,
    ScriptDefinition,
    TokenRecord,
    TokenType,
    User,
)


class StoreUnavailable(RuntimeError):
    """The store could not be reached or could not commit. Maps to 503."""


# Revoking a whole client, user or session runs in committed batches of this many rows, so
# a client with millions of tokens does not hold the writer (or row locks) for long.
# Measured on SQLite (20k tokens, concurrent writes): 10,000-row batches stalled other
# writes up to 85-135 ms, 2,500-row batches up to ~33 ms, in the same total time.
REVOKE_BATCH = 2_500


@dataclass(frozen=True, slots=True)
class RevocationTarget:
    """What to revoke. Each kind is one indexed statement in every backend."""

    column: str  # "grant", "client", "user" or "session"
    values: tuple[str, ...]
    token_types: tuple[TokenType, ...] | None = None

    @classmethod
    def grants(cls, grant_ids: Collection[str]) -> RevocationTarget:
        return cls("grant", tuple(sorted(set(grant_ids))))

    @classmethod
    def client(
        cls, client_id: str, token_types: Collection[TokenType] | None = None
    ) -> RevocationTarget:
        types = tuple(sorted(set(token_types))) if token_types else None
        return cls("client", (client_id,), types)

    @classmethod
    def user(cls, user_id: str) -> RevocationTarget:
        return cls("user", (user_id,))

    @classmethod
    def session(cls, session_id: str) -> RevocationTarget:
        return cls("session", (session_id,))


# Given the records found for some token codes, which grants to revoke and the audit
# record to write, or None to revoke nothing. It may run inside the store's write
# transaction (on SQLite, on the writer thread), so it must be quick and must not raise,
# do I/O or await; it may run more than once for one call (a batch retried).
GrantPlanner = Callable[[list[TokenRecord]], "tuple[Collection[str], AuditEvent] | None"]


# Janssen's token attribute names -> our columns (the config API searches by these names).
TOKEN_ATTRIBUTES: dict[str, str] = {
    "tknCde": "tkn_cde",
    "grtId": "grt_id",
    "clnId": "cln_id",
    "usrId": "usr_id",
    "jansUsrDN": "usr_dn",
    "ssnId": "ssn_id",
    "tknTyp": "tkn_typ",
    "grtTyp": "grt_typ",
    "iat": "iat",
    "exp": "exp",
    "scp": "scp",
    "jansId": "jans_id",
    "del": "del",
}
# The attributes a search `pattern` matches against (Janssen's TokenResource).
PATTERN_ATTRIBUTES = ("grtId", "usrId", "jansUsrDN", "clnId", "scp", "tknTyp", "grtTyp", "jansId")


@dataclass(frozen=True, slots=True)
class TokenQuery:
    """A token search. `patterns`: any one substring matching any pattern attribute;
    `fields`: exact attribute values, all required. Revoked tombstones are included."""

    patterns: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    start: int = 0
    limit: int = 50
    sort_by: str = "iat"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    private_pem_encrypted: str
    public_jwk: dict[str, Any]
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class Revisions:
    """Counters bumped by every write of a cached kind; nodes poll them to invalidate."""

    config: int
    clients: int
    scripts: int
    keys: int
    scopes: int


class Store(ABC):
    # -- tokens -----------------------------------------------------------------------
    @abstractmethod
    async def insert_tokens(self, tokens: Sequence[TokenRecord]) -> None: ...

    @abstractmethod
    async def get_token(self, code: str) -> TokenRecord | None: ...

    @abstractmethod
    async def get_tokens(self, codes: Sequence[str]) -> list[TokenRecord]: ...

    @abstractmethod
    async def revoke(self, target: RevocationTarget, at: int, audit: AuditEvent) -> int:
        """Tombstone every live token of the target and write the audit record. A grant
        target is one transaction; client, user and session targets run in committed
        batches of REVOKE_BATCH (keyset order), the audit record with the last one. Returns
        after every batch has committed, with how many tokens were newly revoked."""

    async def revoke_grants_of(
        self, codes: Sequence[str], plan: GrantPlanner, at: int
    ) -> tuple[list[TokenRecord], int]:
        """Look the token codes up and revoke the grants `plan` picks from what was found
        (with its audit record). Returns the records found and how many tokens were newly
        revoked, after COMMIT. This composition is every backend's behaviour; SQLite
        overrides it to do the lookup and the revocation in one job of its writer thread
        (one hand-off between threads instead of two, and a warm page cache)."""
        records = await self.get_tokens(codes)
        decision = plan(records)
        if decision is None:
            return records, 0
        grants, audit = decision
        return records, await self.revoke(RevocationTarget.grants(grants), at, audit)

    @abstractmethod
    async def rotate_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> bool:
        """Atomically retire a live refresh token and insert its successors. False (and no
        change) when the old token was no longer live: a concurrent refresh won."""

    @abstractmethod
    async def purge_expired(self, now: int, batch_size: int) -> int:
        """Delete up to `batch_size` tokens (tombstones included) past their expiry, and
        expired replay-cache entries. Returns how many tokens were deleted."""

    @abstractmethod
    async def search_tokens(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        """The total number of matches and one page of them."""

    @abstractmethod
    async def count_tokens(
        self, client_id: str | None = None, live_at: int | None = None
    ) -> int: ...

    # -- clients and users ------------------------------------------------------------
    @abstractmethod
    async def get_client(self, client_id: str) -> Client | None: ...

    @abstractmethod
    async def list_clients(self) -> list[Client]: ...

    @abstractmethod
    async def save_client(self, client: Client) -> None: ...

    @abstractmethod
    async def delete_client(self, client_id: str) -> bool: ...

    @abstractmethod
    async def get_user_by_uid(self, uid: str) -> User | None: ...

    @abstractmethod
    async def save_user(self, user: User) -> None: ...

    @abstractmethod
    async def list_scopes(self) -> list[Scope]: ...

    @abstractmethod
    async def save_scope(self, scope: Scope) -> None:
        """Insert or replace by inum; a scope id taken by another inum raises ConflictError."""

    @abstractmethod
    async def delete_scope(self, inum: str) -> bool: ...

    # -- configuration, scripts, keys -------------------------------------------------
    @abstractmethod
    async def load_config(self) -> tuple[dict[str, Any], int]: ...

    @abstractmethod
    async def save_config(self, document: dict[str, Any], expected_revision: int | None) -> int:
        """Replace the stored property document. With `expected_revision`, fail with
        `ConflictError` when someone else wrote in between. Returns the new revision."""

    @abstractmethod
    async def list_scripts(self) -> list[ScriptDefinition]: ...

    @abstractmethod
    async def save_script(self, script: ScriptDefinition) -> ScriptDefinition: ...

    @abstractmethod
    async def delete_script(self, inum: str) -> bool: ...

    @abstractmethod
    async def list_signing_keys(self) -> list[SigningKey]: ...

    @abstractmethod
    async def save_signing_key(self, key: SigningKey) -> None: ...

    @abstractmethod
    async def delete_signing_key(self, kid: str) -> None: ...

    @abstractmethod
    async def revisions(self) -> Revisions: ...

    # -- replay protection, audit -----------------------------------------------------
    @abstractmethod
    async def remember_jti(self, client_id: str, jti: str, expires_at: int) -> bool:
        """Record a client assertion id. False when it was already seen (a replay)."""

    @abstractmethod
    async def list_audit(self, limit: int = 100) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def close(self) -> None: ...


class ConflictError(RuntimeError):
    """An optimistic write lost against a concurrent one."""
