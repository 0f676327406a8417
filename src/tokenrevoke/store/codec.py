"""Records <-> stored rows, shared by every backend (the schemas are column-for-column
the same)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.model import (
    AuditEvent,
    Client,
    DeliveryOutcome,
    PublishedEvents,
    RevocationEvent,
    Scope,
    ScriptDefinition,
    TokenRecord,
    TokenType,
    User,
)
from tokenrevoke.model.client import AuthMethod
from tokenrevoke.model.scope import ScopeType
from tokenrevoke.model.session import SessionRecord, SessionState
from tokenrevoke.store.base import Revisions, SigningKey, TargetKind

# A token's values in `token_to_row` / `token_from_row` order. SQLite keeps the last two
# (who revoked it and why) in a table of their own (store/sqlite/rows.py, STORED_COLUMNS).
TOKEN_COLUMNS = (
    "tkn_cde", "grt_id", "cln_id", "usr_id", "usr_dn", "ssn_id", "tkn_typ", "grt_typ", "iat",
    "exp", "scp", "jans_id", "attr", "del", "status_list", "status_idx", "revoked_at",
    "revoked_by", "revoke_reason",
)  # fmt: skip
TOKEN_COLUMN_LIST = ", ".join(TOKEN_COLUMNS)
TARGET_COLUMN = {
    TargetKind.GRANT: "grt_id",
    TargetKind.CLIENT: "cln_id",
    TargetKind.USER: "usr_id",
    TargetKind.SESSION: "ssn_id",
}
# What a revocation statement RETURNs about each token it newly revoked (for its event).
REVOKED_COLUMNS = "tkn_cde, grt_id, cln_id, usr_id"

# A session's values in `session_to_row` / `session_from_row` order (migration 0011).
SESSION_COLUMNS = (
    "sid, cookie_hash, usr_id, auth_time, created_at, last_used, idle_exp, exp, state, "
    "ended_at, end_reason, attr"
)


def session_to_row(s: SessionRecord) -> tuple[Any, ...]:
    return (
        s.sid, s.cookie_hash, s.user_id, s.auth_time, s.created_at, s.last_used_at,
        s.idle_expires_at, s.expires_at, s.state.value, s.ended_at, s.end_reason,
        orjson.dumps(s.attributes).decode() if s.attributes else None,
    )  # fmt: skip


def session_from_row(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(
        sid=row[0],
        cookie_hash=row[1],
        user_id=row[2],
        auth_time=int(row[3]),
        created_at=int(row[4]),
        last_used_at=int(row[5]),
        idle_expires_at=int(row[6]),
        expires_at=int(row[7]),
        state=SessionState(row[8]),
        ended_at=None if row[9] is None else int(row[9]),
        end_reason=row[10],
        attributes=orjson.loads(row[11]) if row[11] else {},
    )


# TokenType by value without the Enum call (a lookup per token read on the hot path).
_TOKEN_TYPES = {t.value: t for t in TokenType}


def token_from_row(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        code=row[0],
        grant_id=row[1],
        client_id=row[2],
        user_id=row[3],
        user_dn=row[4],
        session_id=row[5],
        token_type=_TOKEN_TYPES.get(row[6]) or TokenType(row[6]),
        grant_type=row[7],
        created_at=int(row[8]),
        expires_at=int(row[9]),
        scope=row[10],
        reference_id=row[11],
        attributes=orjson.loads(row[12]) if row[12] else {},
        deletable=bool(row[13]),
        status_list=None if row[14] is None else int(row[14]),
        status_idx=None if row[15] is None else int(row[15]),
        revoked_at=None if row[16] is None else int(row[16]),
        revoked_by=row[17],
        revoke_reason=row[18],
    )


def token_to_row(t: TokenRecord) -> tuple[Any, ...]:
    return (
        t.code, t.grant_id, t.client_id, t.user_id, t.user_dn, t.session_id,
        t.token_type.value, t.grant_type, t.created_at, t.expires_at, t.scope,
        t.reference_id, orjson.dumps(t.attributes).decode() if t.attributes else None,
        int(t.deletable), t.status_list, t.status_idx, t.revoked_at, t.revoked_by,
        t.revoke_reason,
    )  # fmt: skip


def to_json(record: Any) -> str:
    return orjson.dumps(dataclasses.asdict(record)).decode()


def client_from_json(text: str | bytes) -> Client:
    data = orjson.loads(text)
    data["auth_method"] = AuthMethod(data["auth_method"])
    return Client(**data)


def email_key(email: str | None) -> str | None:
    """The users.email column: emails are stored and looked up case-insensitively; a
    blank one is none."""
    key = (email or "").strip().lower()
    return key or None


def user_from_json(text: str | bytes) -> User:
    return User(**orjson.loads(text))


def script_from_json(text: str | bytes) -> ScriptDefinition:
    return ScriptDefinition(**orjson.loads(text))


def key_from_json(text: str | bytes) -> SigningKey:
    return SigningKey(**orjson.loads(text))


def scope_from_json(text: str | bytes) -> Scope:
    data = orjson.loads(text)
    data["scope_type"] = ScopeType(data["scope_type"])
    return Scope(**data)


# Every revision counter, as (kind, revision) rows: `revisions_from_rows`.
SELECT_REVISIONS = (
    "SELECT kind, revision FROM revisions UNION ALL "
    "SELECT 'config', revision FROM app_config WHERE id = 1"
)


def revisions_from_rows(rows: Sequence[Sequence[Any]]) -> Revisions:
    counters = {kind: revision for kind, revision in rows}
    return Revisions(
        config=int(counters["config"]),
        clients=int(counters["clients"]),
        scripts=int(counters["scripts"]),
        keys=int(counters["keys"]),
        scopes=int(counters["scopes"]),
    )


def audit_from_row(row: Sequence[Any]) -> dict[str, Any]:
    keys = ("id", "at", "action", "actor", "reason", "clientId", "count")
    out: dict[str, Any] = dict(zip(keys, row[:7], strict=True))
    out["details"] = orjson.loads(row[7])
    return out


def like_pattern(piece: str) -> str:
    """A substring pattern with LIKE's wildcards escaped (escape character: backslash)."""
    return "%" + piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def revocation_event_body(
    revocation_id: str,
    batch: int,
    at: int,
    audit: AuditEvent,
    target: tuple[TargetKind, tuple[str, ...]],
    revoked: Sequence[Sequence[Any]],
) -> tuple[str, str]:
    """(id, stored body) of the event of one committed batch, from the rows
    (REVOKED_COLUMNS) it newly revoked. This runs inside the revocation's transaction (on
    SQLite, on the writer thread), so it only serialises what it was given; sorting and
    grouping wait for `event_from_row`, off the hot path."""
    event_id = f"{revocation_id}.{batch}"
    body = [revocation_id, batch, at, audit.action, audit.actor, audit.reason, *target, revoked]
    return event_id, orjson.dumps(body).decode()


def event_from_row(body: str | bytes, position: int | None) -> RevocationEvent:
    revocation_id, batch, at, action, actor, reason, kind, values, revoked = orjson.loads(body)
    return RevocationEvent(
        id=f"{revocation_id}.{batch}",
        revocation_id=revocation_id,
        batch=int(batch),
        revoked_at=int(at),
        action=action,
        actor=actor,
        reason=reason,
        target=kind,
        target_values=tuple(values),
        token_hashes=tuple(sorted(r[0] for r in revoked)),
        grant_ids=tuple(sorted({r[1] for r in revoked})),
        client_ids=tuple(sorted({r[2] for r in revoked})),
        user_ids=tuple(sorted({r[3] for r in revoked if r[3] is not None})),
        position=None if position is None else int(position),
        userless_tokens=any(r[3] is None for r in revoked),
    )


def published_events(positioned: Sequence[tuple[str | bytes, int]] = ()) -> PublishedEvents:
    """Events just given these positions ((stored body, position) pairs), decoded by
    `event_from_row` when first read."""
    return PublishedEvents(positioned, event_from_row)


def settlement(outcome: DeliveryOutcome, now: int) -> tuple[Any, ...]:
    """(delivered_at, failed_at, next_attempt_at, last_error, receiver, position)."""
    failed = not outcome.delivered and outcome.retry_at is None
    return (
        now if outcome.delivered else None,
        now if failed else None,
        outcome.retry_at,
        None if outcome.delivered else (outcome.error or "")[:500],
        outcome.receiver,
        outcome.position,
    )


def indices_by_list(entries: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """(list, index) pairs grouped by list, each list's indices in their order."""
    by_list: dict[int, list[int]] = {}
    for list_id, index in entries:
        by_list.setdefault(int(list_id), []).append(int(index))
    return by_list


def merge_one_bit(blob: bytes | None, indices: Sequence[int]) -> bytes:
    """A status list's purged bits (1 bit per index, least significant first) with these
    indices' bits set, grown as needed (read by oauth/status_list.one_bit_indices)."""
    out = bytearray(blob or b"")
    for index in indices:
        byte = index // 8
        if byte >= len(out):
            out.extend(bytes(byte + 1 - len(out)))
        out[byte] |= 1 << (index % 8)
    return bytes(out)
