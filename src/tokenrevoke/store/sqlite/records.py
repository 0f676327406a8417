"""The SQL of the administrative records' writes on SQLite: clients, users, scopes, the
configuration, scripts and signing keys, each but a user bumping its kind's revision in
the same transaction. The functions run on the writer thread, inside its transaction
(store.py hands them to it); a record's JSON (`data`) is made before, off that thread."""

from __future__ import annotations

import dataclasses
import sqlite3

from tokenrevoke.model import Client, Scope, ScriptDefinition, User
from tokenrevoke.store import codec
from tokenrevoke.store.base import ConflictError, SigningKey


def _bump(conn: sqlite3.Connection, kind: str) -> None:
    conn.execute("UPDATE revisions SET revision = revision + 1 WHERE kind = ?", (kind,))


def save_client(conn: sqlite3.Connection, client: Client, data: str) -> None:
    conn.execute(
        "INSERT INTO clients (inum, data) VALUES (?, ?) "
        "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
        (client.client_id, data),
    )
    _bump(conn, "clients")


def delete_client(conn: sqlite3.Connection, client_id: str) -> bool:
    deleted = conn.execute("DELETE FROM clients WHERE inum = ?", (client_id,)).rowcount
    _bump(conn, "clients")
    return deleted == 1


def save_user(conn: sqlite3.Connection, user: User, email: str | None, data: str) -> None:
    conn.execute(
        "INSERT INTO users (inum, uid, email, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (inum) DO UPDATE SET uid = excluded.uid, email = excluded.email, "
        "data = excluded.data",
        (user.inum, user.uid, email, data),
    )


def save_scope(conn: sqlite3.Connection, scope: Scope, data: str) -> None:
    taken = conn.execute(
        "SELECT inum FROM scopes WHERE id = ? AND inum <> ?", (scope.id, scope.inum)
    ).fetchone()
    if taken:
        raise ConflictError(f"scope id {scope.id!r} already exists")
    conn.execute(
        "INSERT INTO scopes (inum, id, data) VALUES (?, ?, ?) "
        "ON CONFLICT (inum) DO UPDATE SET id = excluded.id, data = excluded.data",
        (scope.inum, scope.id, data),
    )
    _bump(conn, "scopes")


def delete_scope(conn: sqlite3.Connection, inum: str) -> bool:
    deleted = conn.execute("DELETE FROM scopes WHERE inum = ?", (inum,)).rowcount
    _bump(conn, "scopes")
    return deleted == 1


def save_config(conn: sqlite3.Connection, text: str, expected_revision: int | None) -> int:
    (current,) = conn.execute("SELECT revision FROM app_config WHERE id = 1").fetchone()
    if expected_revision is not None and current != expected_revision:
        raise ConflictError(f"configuration changed (revision {current})")
    conn.execute(
        "UPDATE app_config SET document = ?, revision = ? WHERE id = 1",
        (text, current + 1),
    )
    return int(current) + 1


def save_script(conn: sqlite3.Connection, script: ScriptDefinition) -> ScriptDefinition:
    (revision,) = conn.execute("SELECT revision FROM revisions WHERE kind = 'scripts'").fetchone()
    saved = dataclasses.replace(script, revision=int(revision) + 1)
    conn.execute(
        "INSERT INTO scripts (inum, data) VALUES (?, ?) "
        "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
        (saved.inum, codec.to_json(saved)),
    )
    _bump(conn, "scripts")
    return saved


def delete_script(conn: sqlite3.Connection, inum: str) -> bool:
    deleted = conn.execute("DELETE FROM scripts WHERE inum = ?", (inum,)).rowcount
    _bump(conn, "scripts")
    return deleted == 1


def save_signing_key(conn: sqlite3.Connection, key: SigningKey, data: str) -> None:
    conn.execute("INSERT INTO signing_keys (kid, data) VALUES (?, ?)", (key.kid, data))
    _bump(conn, "keys")


def delete_signing_key(conn: sqlite3.Connection, kid: str) -> None:
    conn.execute("DELETE FROM signing_keys WHERE kid = ?", (kid,))
    _bump(conn, "keys")
