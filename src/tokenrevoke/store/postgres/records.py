"""The SQL of the administrative records' writes on PostgreSQL: clients, users, scopes,
the configuration, scripts and signing keys, each but a user bumping its kind's revision
in the same transaction; reading the revisions; and the audit log's entries. The
functions take a connection inside the store's transaction (store.py runs them)."""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
import orjson

from tokenrevoke.model import AuditEvent, Client, Scope, ScriptDefinition, User
from tokenrevoke.store import codec
from tokenrevoke.store.base import ConflictError, Revisions, SigningKey


def rows_affected(status: str) -> int:
    """Rows affected, from a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    return int(status.rsplit(" ", 1)[-1])


async def write_audit(conn: Any, at: int, audit: AuditEvent, count: int) -> None:
    """An entry of the audit log (`count`: of the tokens it revoked)."""
    await conn.execute(
        "INSERT INTO audit (at, action, actor, reason, cln_id, count, details) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        at, audit.action, audit.actor, audit.reason, audit.client_id, count,
        orjson.dumps(audit.details).decode(),
    )  # fmt: skip


async def _bump(conn: Any, kind: str) -> None:
    await conn.execute("UPDATE revisions SET revision = revision + 1 WHERE kind = $1", kind)


async def save_client(conn: Any, client: Client) -> None:
    await conn.execute(
        "INSERT INTO clients (inum, data) VALUES ($1, $2) "
        "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
        client.client_id,
        codec.to_json(client),
    )
    await _bump(conn, "clients")


async def delete_client(conn: Any, client_id: str) -> bool:
    status = await conn.execute("DELETE FROM clients WHERE inum = $1", client_id)
    await _bump(conn, "clients")
    return rows_affected(status) == 1


async def save_user(conn: Any, user: User) -> None:
    await conn.execute(
        "INSERT INTO users (inum, uid, email, data) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (inum) DO UPDATE SET uid = excluded.uid, email = excluded.email, "
        "data = excluded.data",
        user.inum,
        user.uid,
        codec.email_key(user.email),
        codec.to_json(user),
    )


async def save_scope(conn: Any, scope: Scope) -> None:
    taken = await conn.fetchval(
        "SELECT inum FROM scopes WHERE id = $1 AND inum <> $2", scope.id, scope.inum
    )
    if taken:
        raise ConflictError(f"scope id {scope.id!r} already exists")
    try:
        await conn.execute(
            "INSERT INTO scopes (inum, id, data) VALUES ($1, $2, $3) "
            "ON CONFLICT (inum) DO UPDATE SET id = excluded.id, data = excluded.data",
            scope.inum,
            scope.id,
            codec.to_json(scope),
        )
    except asyncpg.UniqueViolationError as exc:
        # Another connection saved this id after our check (nodes starting together).
        raise ConflictError(f"scope id {scope.id!r} already exists") from exc
    await _bump(conn, "scopes")


async def delete_scope(conn: Any, inum: str) -> bool:
    status = await conn.execute("DELETE FROM scopes WHERE inum = $1", inum)
    await _bump(conn, "scopes")
    return rows_affected(status) == 1


async def save_config(conn: Any, text: str, expected_revision: int | None) -> int:
    current = int(await conn.fetchval("SELECT revision FROM app_config WHERE id = 1 FOR UPDATE"))
    if expected_revision is not None and current != expected_revision:
        raise ConflictError(f"configuration changed (revision {current})")
    await conn.execute(
        "UPDATE app_config SET document = $1, revision = $2 WHERE id = 1", text, current + 1
    )
    return current + 1


async def save_script(conn: Any, script: ScriptDefinition) -> ScriptDefinition:
    revision = await conn.fetchval(
        "UPDATE revisions SET revision = revision + 1 WHERE kind = 'scripts' RETURNING revision"
    )
    saved = dataclasses.replace(script, revision=int(revision))
    await conn.execute(
        "INSERT INTO scripts (inum, data) VALUES ($1, $2) "
        "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
        saved.inum,
        codec.to_json(saved),
    )
    return saved


async def delete_script(conn: Any, inum: str) -> bool:
    status = await conn.execute("DELETE FROM scripts WHERE inum = $1", inum)
    await _bump(conn, "scripts")
    return rows_affected(status) == 1


async def save_signing_key(conn: Any, key: SigningKey) -> None:
    await conn.execute(
        "INSERT INTO signing_keys (kid, data) VALUES ($1, $2)", key.kid, codec.to_json(key)
    )
    await _bump(conn, "keys")


async def delete_signing_key(conn: Any, kid: str) -> None:
    await conn.execute("DELETE FROM signing_keys WHERE kid = $1", kid)
    await _bump(conn, "keys")


async def revisions(conn: Any) -> Revisions:
    return codec.revisions_from_rows(await conn.fetch(codec.SELECT_REVISIONS))
