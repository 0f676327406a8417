"""The Store interface. Every backend implements it and passes the same contract tests.

Writes return only after they are committed: a caller that answers 200 after `await`ing a
write has made that write durable. Its length is the contract's: each method's docstring
is what both backends and tests/store/ promise.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tokenrevoke.model import (
    AuditEvent,
    Client,
    Delivery,
    DeliveryOutcome,
    PublishedEvents,
    RevocationEvent,
    Scope,
    ScriptDefinition,
    TokenRecord,
    TokenType,
    User,
)
from tokenrevoke.model.session import CodeRedemption, EndedSessions, SessionEnd, SessionRecord


class StoreUnavailable(RuntimeError):
    """The store could not be reached or could not commit. Maps to 503."""


class UnstorableText(ValueError):
    """A text value the store cannot hold: PostgreSQL's text has no NUL character. Lookups
    by such a value find nothing (no stored value can hold it); a write of one raises
    this, which maps to 400."""


# Revoking a whole client, user or session runs in committed batches of this many rows, so
# a client with millions of tokens does not hold the writer (or row locks) for long.
# Measured on SQLite (20k tokens, concurrent writes): 10,000-row batches stalled other
# writes up to 85-135 ms, 2,500-row batches up to ~33 ms, in the same total time.
REVOKE_BATCH = 2_500


class TargetKind(StrEnum):
    """What a revocation names; the value is what events carry (`RevocationEvent.target`)."""

    GRANT = "grant"
    CLIENT = "client"
    USER = "user"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class RevocationTarget:
    """What to revoke. Each kind is one indexed statement in every backend."""

    column: TargetKind  # which scope column `values` are keys of
    values: tuple[str, ...]
    token_types: tuple[TokenType, ...] | None = None

    @classmethod
    def grants(cls, grant_ids: Collection[str]) -> RevocationTarget:
        return cls(TargetKind.GRANT, tuple(sorted(set(grant_ids))))

    @classmethod
    def client(
        cls, client_id: str, token_types: Collection[TokenType] | None = None
    ) -> RevocationTarget:
        types = tuple(sorted(set(token_types))) if token_types else None
        return cls(TargetKind.CLIENT, (client_id,), types)

    @classmethod
    def user(cls, user_id: str) -> RevocationTarget:
        return cls(TargetKind.USER, (user_id,))

    @classmethod
    def session(cls, session_id: str) -> RevocationTarget:
        return cls(TargetKind.SESSION, (session_id,))


class PreviousRefreshToken(StrEnum):
    """What a refresh token that is no longer live turned out to be."""

    REISSUED = "reissued"  # its family's previous token, inside the grace window: exchanged
    REUSED = "reused"  # retired by rotation: presenting it again is a replay
    INVALID = "invalid"  # unknown, expired, or revoked for another reason


def previous_refresh_verdict(
    record: TokenRecord | None, at: int, grace_seconds: int
) -> PreviousRefreshToken:
    """The verdict on a presented refresh token that is not live, from its own row alone.
    REISSUED here means "a candidate": it is reissued only if its successor is still its
    family's live refresh token. The window is whole seconds: [rotation, rotation + grace)."""
    if (
        record is None
        or record.token_type is not TokenType.REFRESH_TOKEN
        or record.expires_at <= at
        or record.revoked_at is None
        or not record.retired_by_rotation
    ):
        return PreviousRefreshToken.INVALID
    if at - record.revoked_at < grace_seconds:
        return PreviousRefreshToken.REISSUED
    return PreviousRefreshToken.REUSED


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
class StatusListState:
    """What a Token Status List is built from, read in one snapshot: how many indices were
    handed out, the indices of its revoked tokens still stored, and the bits the purge kept
    of the revoked tokens it deleted (1 bit per index, least significant first)."""

    size: int
    revoked: list[int]
    purged: bytes


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
    async def issue_tokens(self, tokens: Sequence[TokenRecord]) -> bool:
        """Insert the tokens of one issuance (one client) if, in the same transaction,
        their client still exists; False (and nothing inserted) when it does not. With
        `delete_client` committing before the revocation of the client's tokens, no token
        outlives its client, whatever races the deletion (docs/security.md)."""

    @abstractmethod
    async def get_token(self, code: str) -> TokenRecord | None: ...

    @abstractmethod
    async def get_tokens(self, codes: Sequence[str]) -> list[TokenRecord]: ...

    @abstractmethod
    async def revoke(self, target: RevocationTarget, at: int, audit: AuditEvent) -> int:
        """Tombstone every live token of the target and write the audit record. A grant
        target is one transaction; client, user and session targets run in committed
        batches of REVOKE_BATCH (keyset order), the audit record with the last one. Returns
        after every batch has committed, with how many tokens were newly revoked.

        On return no token of the target is live that was live when it began or came from
        one that was (a refresh racing it, its successor committed behind the walk, or
        during a grant's one transaction): callers never walk again. A token issued anew
        meanwhile (not by rotation) is later than the revocation and may live.

        Every transaction that revokes at least one token also writes one RevocationEvent
        to the outbox (the hashes, grants, clients and users it newly revoked): one event
        for a grant target, one per committed batch otherwise, sharing a revocation id."""

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
    async def exchange_previous_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int, grace_seconds: int
    ) -> PreviousRefreshToken:
        """Judge a refresh token that is no longer live, atomically with any change, and
        serialised with every other exchange of it. REISSUED when `previous_refresh_verdict`
        allows it and the family's live refresh token is its successor (attribute
        ROTATED_FROM == old_code): that successor is retired (rotation, SUPERSEDED) and
        `new_tokens` are inserted in one transaction, so a family never has two live
        refresh tokens. Otherwise nothing changes and the verdict is REUSED (retired by
        rotation) or INVALID. The caller revokes the family on REUSED."""

    @abstractmethod
    async def purge_expired(
        self, now: int, batch_size: int, keep_lists: Sequence[int] | None = None
    ) -> int:
        """Delete up to `batch_size` tokens (tombstones included) past their expiry, and
        expired replay-cache entries and sessions. Returns how many tokens were deleted. In
        the same transaction, the status-list bits of the revoked ones among them are kept
        in their list's `purged` bits; with `keep_lists`, every other list none of whose
        tokens is left is deleted."""

    # -- token status lists (oauth/status_lists.py) -------------------------------------
    @abstractmethod
    async def allocate_status_indices(self, list_id: int, count: int) -> int:
        """Hand out `count` indices of the list never handed out before (creating the
        list); returns the first. One statement, however many nodes ask at once."""

    @abstractmethod
    async def read_status_list(self, list_id: int) -> StatusListState | None:
        """The list's state in one snapshot, or None when no such list exists."""

    @abstractmethod
    async def status_list_ids(self) -> list[int]:
        """Every list's id, ascending."""

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
    async def delete_client(self, client_id: str) -> bool:
        """Delete the client row. Waits for, and from its commit on refuses, any
        `issue_tokens` of the client: a revocation of its tokens started afterwards sees
        every token it will ever have."""

    @abstractmethod
    async def get_user_by_uid(self, uid: str) -> User | None: ...

    @abstractmethod
    async def get_user(self, inum: str) -> User | None: ...

    @abstractmethod
    async def find_users_by_email(self, email: str) -> list[User]:
        """Every user with this email, compared case-insensitively (an email need not be
        unique), ordered by inum."""

    @abstractmethod
    async def save_user(self, user: User) -> None: ...

    @abstractmethod
    async def session_ids_of_user(self, user_id: str) -> list[str]:
        """The distinct session ids (`ssnId`) on the user's tokens, revoked and expired
        ones included, sorted. One indexed read (tokens by user)."""

    @abstractmethod
    async def list_scopes(self) -> list[Scope]: ...

    @abstractmethod
    async def save_scope(self, scope: Scope) -> None:
        """Insert or replace by inum; a scope id taken by another inum raises ConflictError."""

    @abstractmethod
    async def delete_scope(self, inum: str) -> bool: ...

    # -- browser sessions (store/<backend>/sessions.py) --------------------------------
    @abstractmethod
    async def create_session(self, session: SessionRecord) -> None: ...

    @abstractmethod
    async def get_session(self, sid: str) -> SessionRecord | None: ...

    @abstractmethod
    async def get_session_by_cookie(self, cookie_hash: str) -> SessionRecord | None:
        """The session whose current cookie hashes to this, ended or not (the caller
        checks `is_live`); a cookie replaced by `touch_session` names nothing."""

    @abstractmethod
    async def touch_session(
        self,
        sid: str,
        at: int,
        idle_expires_at: int,
        *,
        cookie_hash: str | None = None,
        auth_time: int | None = None,
    ) -> SessionRecord | None:
        """Mark a session live at `at` used: its idle expiry becomes `idle_expires_at`
        (never past its absolute expiry); with `cookie_hash` its cookie is replaced (the
        old one names nothing from the commit on); with `auth_time` the user has just
        authenticated again. None, and no change, when it is not live at `at`."""

    @abstractmethod
    async def list_sessions(self, user_id: str, live_at: int | None = None) -> list[SessionRecord]:
        """The user's stored sessions (ended ones too, unless `live_at` asks for those
        live then), oldest first."""

    @abstractmethod
    async def end_sessions(self, which: SessionEnd, at: int, audit: AuditEvent) -> EndedSessions:
        """End the chosen sessions that are not ended yet (expired ones too: their tokens
        may outlive them), with `audit.reason` as their end reason, and in the same
        transaction revoke every live token issued in them (ssnId), with one audit record
        and, when a token was revoked, one revocation event (target "session", the sids).
        Nothing is written when no session was ended."""

    @abstractmethod
    async def redeem_code(
        self, code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> CodeRedemption:
        """Retire a live authorization code (revoked_by REDEMPTION) and insert the tokens
        issued for it, in one transaction, if the code's session (its ssnId, when it has
        one) is live at `at`: serialised with `end_sessions`, so no token outlives the
        session's end. SESSION_ENDED retires the code and inserts nothing; SPENT and
        UNKNOWN change nothing."""

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
    async def append_audit(self, at: int, audit: AuditEvent) -> None:
        """Write an audit record of a change that revoked nothing (a config-API write)."""

    @abstractmethod
    async def list_audit(self, limit: int = 100) -> list[dict[str, Any]]: ...

    # -- revocation events (the outbox) -----------------------------------------------
    @abstractmethod
    async def publish_events(self, receivers: Sequence[str], limit: int) -> PublishedEvents:
        """Give up to `limit` committed, unpublished events their positions (the next ones,
        in order) and a pending delivery for each push receiver, in one transaction.
        Returns them, positioned (decoded when read). One publisher at a time across
        nodes: while another holds the turn, returns none at once. Cheap when there is
        nothing to publish."""

    @abstractmethod
    async def list_events(self, after: int, limit: int) -> list[RevocationEvent]:
        """Published events with a position above `after`, in position order."""

    @abstractmethod
    async def latest_event_position(self) -> int:
        """The highest published position (0 when none)."""

    @abstractmethod
    async def claim_deliveries(
        self, receivers: Sequence[str], now: int, lease_seconds: int, limit: int
    ) -> list[Delivery]:
        """Up to `limit` pending deliveries to these receivers that are due at `now`, in
        position order, each leased until `now + lease_seconds` (no other deliverer, on
        any node, claims it meanwhile; after a crash the lease runs out and it is due
        again). Counts the attempt."""

    @abstractmethod
    async def settle_deliveries(self, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
        """Record pushes: delivered at `now`, due again at `retry_at`, or given up on."""

    @abstractmethod
    async def purge_events(self, before: int, batch_size: int, receivers: Sequence[str]) -> int:
        """Delete up to `batch_size` published events older than `before` that none of
        these (the configured) receivers still waits for, with their deliveries. Returns
        how many events were deleted."""

    @abstractmethod
    async def record_fact(self, name: str, value: str) -> str:
        """Record `name` = `value` unless the store already holds a value for `name`;
        return the value it holds (this one, or the one recorded first)."""

    @abstractmethod
    async def close(self) -> None: ...


class ConflictError(RuntimeError):
    """An optimistic write lost against a concurrent one."""


def holds_nul(*values: str | None) -> bool:
    """Whether a key holds a NUL. None is stored: PostgreSQL's text cannot hold one, and
    nothing writes one to SQLite (the config API refuses it). So such a key names nothing,
    on either backend, and neither is asked: PostgreSQL would fail, and SQLite's JSON and
    LIKE functions read a text only up to a NUL ("c1\\0" would name "c1")."""
    return any(value is not None and "\0" in value for value in values)


def without_nul_keys(target: RevocationTarget) -> RevocationTarget | None:
    """The target without the keys that name nothing (None when none is left)."""
    values = tuple(value for value in target.values if not holds_nul(value))
    return dataclasses.replace(target, values=values) if values else None


def without_nul_patterns(query: TokenQuery) -> TokenQuery | None:
    """The search without the patterns that match nothing (one of several may); None when
    nothing can match: every pattern, or an exact field value, holds a NUL."""
    patterns = tuple(piece for piece in query.patterns if not holds_nul(piece))
    if (query.patterns and not patterns) or any(holds_nul(v) for _, v in query.fields):
        return None
    return dataclasses.replace(query, patterns=patterns)


def storable_session_end(which: SessionEnd) -> SessionEnd | None:
    """The choice without the sids that name nothing (None when nothing is left to end)."""
    if holds_nul(which.user_id):
        return None
    if which.sids is None:
        return which
    sids = tuple(sid for sid in which.sids if not holds_nul(sid))
    return dataclasses.replace(which, sids=sids) if sids else None
