"""The migration runner (SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
from tokenrevoke.store import RevocationTarget, migrations
from tokenrevoke.store.sqlite import migrating
from tokenrevoke.store.sqlite.store import SqliteStore

T = TypeVar("T")


def migrate(db: Path) -> list[str]:
    return asyncio.run(migrating.migrate(db))


def on_store(db: Path, use: Callable[[SqliteStore], Awaitable[T]]) -> T:
    """What `use` makes of the store opened on `db` (closed afterwards)."""

    async def scenario() -> T:
        store = await SqliteStore.open(db)
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(scenario())


def _migrate_up_to(db: Path, last: int) -> None:
    """The schema as it was after migration `last`: the later ones count as applied until
    their records are deleted again, so that the next `migrate` runs them."""
    later = [m.version for m in migrations.pending("sqlite", set()) if m.version > last]
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO schema_migrations VALUES (?, 'not yet', 0)", [(v,) for v in later]
        )
    migrate(db)
    with sqlite3.connect(db) as conn:
        conn.execute(f"DELETE FROM schema_migrations WHERE version > {last}")


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    first = migrate(db)
    assert first == [m.name for m in migrations.load_migrations("sqlite")]
    assert migrate(db) == []
    with sqlite3.connect(db) as conn:
        versions = [
            r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        ]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert versions == [m.version for m in migrations.load_migrations("sqlite")]
    assert {"tokens", "clients", "audit", "app_config", "jti_seen"} <= tables


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in migrations.load_migrations("sqlite")]
    assert versions == list(range(1, len(versions) + 1))


def test_user_email_migration_indexes_existing_users(tmp_path: Path) -> None:
    """0004 backfills the email column from users stored before it existed."""
    db = tmp_path / "m.db"
    migrate(db)
    with sqlite3.connect(db) as conn:  # back to the schema before 0004, with old rows
        conn.execute("DROP INDEX users_by_email")
        conn.execute("ALTER TABLE users DROP COLUMN email")
        conn.execute("DELETE FROM schema_migrations WHERE version = 4")
        conn.executemany(
            "INSERT INTO users (inum, uid, data) VALUES (?, ?, ?)",
            [
                ("u1", "alice", '{"inum":"u1","uid":"alice","password_hash":"h",'
                                '"email":" Alice@Example.com"}'),
                ("u2", "bob", '{"inum":"u2","uid":"bob","password_hash":"h","email":null}'),
            ],
        )  # fmt: skip
    assert migrate(db) == ["0004_user_email.sql"]

    async def lookup(store: SqliteStore) -> list[str]:
        return [u.uid for u in await store.find_users_by_email("alice@example.com")]

    assert on_store(db, lookup) == ["alice"]


def test_client_index_migration_orders_existing_tokens_by_issue_time(tmp_path: Path) -> None:
    """0005 rebuilds tokens_by_client as (cln_id, iat) over tokens stored before it."""
    db = tmp_path / "m.db"
    migrate(db)
    with sqlite3.connect(db) as conn:  # back to the schema before 0005, with old rows
        conn.execute("DROP INDEX tokens_by_client")
        conn.execute("CREATE INDEX tokens_by_client ON tokens (cln_id)")
        conn.execute("DELETE FROM schema_migrations WHERE version = 5")
        conn.executemany(
            "INSERT INTO tokens (tkn_cde, grt_id, cln_id, tkn_typ, grt_typ, iat, exp) "
            "VALUES (?, ?, 'c1', 'access_token', 'client_credentials', ?, 4000000000)",
            [(f"{i:064x}", f"g{i}", 1_700_000_000 - i) for i in range(5)],
        )
    assert migrate(db) == ["0005_client_index_by_issue_time.sql"]
    with sqlite3.connect(db) as conn:
        columns = [r[2] for r in conn.execute("PRAGMA index_info(tokens_by_client)")]
    assert columns == ["cln_id", "iat"]

    audit = AuditEvent("revoke", "tester", "all", "c1", {})
    revoke_all = RevocationTarget.client("c1")
    assert on_store(db, lambda store: store.revoke(revoke_all, 1_700_000_001, audit)) == 5


def test_issue_order_migration_rebuilds_the_token_table_in_issue_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0006 copies tokens stored in the hash-keyed table into the rowid table, a grant's
    tokens side by side in issue order, and every scope's batched revocation still walks
    them all."""
    db = tmp_path / "m.db"
    _migrate_up_to(db, 5)
    with sqlite3.connect(db) as conn:
        assert not conn.execute(
            "SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'seq'"
        ).fetchall()
        # Grant i holds two tokens issued at i, hashes in reverse order of issue (the old
        # table held them the other way round); grants 0-7 of user u1, 0-3 of session s1.
        conn.executemany(
            "INSERT INTO tokens (tkn_cde, grt_id, cln_id, usr_id, ssn_id, tkn_typ, grt_typ, "
            "iat, exp) VALUES (?, ?, 'c1', ?, ?, 'access_token', 'authorization_code', "
            "?, 4000000000)",
            [(f"{99 - 2 * i - k:064x}", f"g{i:02}", "u1" if i < 8 else None,
              "s1" if i < 4 else None, 1_700_000_000 + i) for i in range(12) for k in range(2)],
        )  # fmt: skip
    assert migrate(db)[:3] == [
        "0006_tokens_in_issue_order.sql", "0007_revokers.sql", "0008_room_for_revocation.sql"
    ]  # fmt: skip
    with sqlite3.connect(db) as conn:
        grants = [r[0] for r in conn.execute("SELECT grt_id FROM tokens ORDER BY seq")]
        unique = conn.execute(
            "SELECT \"unique\" FROM pragma_index_list('tokens') WHERE name = 'tokens_by_code'"
        ).fetchone()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()
    assert grants == [f"g{i:02}" for i in range(12) for _ in range(2)]
    assert unique == (1,) and integrity == ("ok",)

    # Several keyset batches per scope.
    monkeypatch.setattr("tokenrevoke.store.sqlite.store.REVOKE_BATCH", 5)
    audit = AuditEvent("revoke", "tester", "all", "c1", {})

    async def revoke_in_turn(store: SqliteStore) -> list[int]:
        at = 1_800_000_000
        return [
            await store.revoke(RevocationTarget.session("s1"), at, audit),
            await store.revoke(RevocationTarget.user("u1"), at, audit),
            await store.revoke(RevocationTarget.client("c1"), at, audit),
        ]

    assert on_store(db, revoke_in_turn) == [8, 8, 8]

    async def looked_up(store: SqliteStore) -> list[str | None]:
        found = await store.get_tokens([f"{99:064x}", f"{76:064x}"])
        return [t.grant_id for t in found]

    assert sorted(on_store(db, looked_up)) == ["g00", "g11"]


def test_revokers_migration_keeps_who_revoked_each_token(tmp_path: Path) -> None:
    """0007 moves (revoked_by, revoke_reason) out of the token rows into one `revokers`
    row per distinct pair (NULL a value of its own); every token reads back as before,
    and later revocations reuse the pairs."""
    db = tmp_path / "m.db"
    _migrate_up_to(db, 6)
    stored = [  # code, revoked_at, revoked_by, revoke_reason
        (1, None, None, None),
        (2, 1_700_000_100, "client:c1", "revoke_endpoint"),
        (3, 1_700_000_100, "client:c1", "revoke_endpoint"),
        (4, 1_700_000_200, "rotation", "rotated"),
        (5, 1_700_000_300, "admin", None),
        (6, 1_700_000_400, None, None),
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO tokens (tkn_cde, grt_id, cln_id, tkn_typ, grt_typ, iat, exp, "
            "revoked_at, revoked_by, revoke_reason) "
            "VALUES (?, ?, 'c1', 'access_token', 'client_credentials', 1, 4000000000, ?, ?, ?)",
            [(f"{c:064x}", f"g{c}", at, by, why) for c, at, by, why in stored],
        )
    assert migrate(db)[:2] == ["0007_revokers.sql", "0008_room_for_revocation.sql"]
    with sqlite3.connect(db) as conn:
        pairs = conn.execute(
            "SELECT revoked_by, revoke_reason FROM revokers ORDER BY id"
        ).fetchall()
        columns = {r[1] for r in conn.execute("PRAGMA table_info(tokens)")}
        integrity = conn.execute("PRAGMA integrity_check").fetchone()
    assert sorted(pairs, key=str) == sorted(
        [("client:c1", "revoke_endpoint"), ("rotation", "rotated"), ("admin", None)], key=str
    )
    assert "revoker" in columns and not {"revoked_by", "revoke_reason"} & columns
    assert integrity == ("ok",)

    async def read_back(store: SqliteStore) -> list[tuple[int | None, str | None, str | None]]:
        found = {t.code: t for t in await store.get_tokens([f"{c:064x}" for c, *_ in stored])}
        return [(t.revoked_at, t.revoked_by, t.revoke_reason)
                for t in (found[f"{c:064x}"] for c, *_ in stored)]  # fmt: skip

    assert on_store(db, read_back) == [(at, by, why) for _, at, by, why in stored]

    # A later revocation by a known pair stores no new pair.
    known = AuditEvent("revoke", "client:c1", "revoke_endpoint", "c1", {})

    async def revoke_more(store: SqliteStore) -> int:
        return await store.revoke(RevocationTarget.grants(["g1"]), 1_700_000_500, known)

    assert on_store(db, revoke_more) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM revokers").fetchone() == (3,)
    revoked = on_store(db, lambda store: store.get_token(f"{1:064x}"))
    assert revoked is not None
    assert (revoked.revoked_by, revoked.revoke_reason) == ("client:c1", "revoke_endpoint")


def _payload(db: Path) -> int:
    """Bytes of the token table's rows as stored (the cells' payload, from `dbstat`)."""
    with sqlite3.connect(db) as conn:
        (total,) = conn.execute("SELECT sum(payload) FROM dbstat WHERE name = 'tokens'").fetchone()
    return int(total)


def _live(code: int, grant: str, kind: TokenType = TokenType.ACCESS_TOKEN) -> TokenRecord:
    return TokenRecord(f"{code:064x}", grant, "c1", kind, "authorization_code", 1, 4_000_000_000)


def test_a_revocation_keeps_a_live_tokens_row_its_size(tmp_path: Path) -> None:
    """0008: a live token's row carries the bytes its revocation writes and gives them
    back then, so revoking rewrites the row in place (no page split), by every path that
    revokes: a target, a refresh token's rotation."""
    db = tmp_path / "m.db"
    migrate(db)
    at = 1_700_000_000  # revoked_at in 4 bytes, as until 2038
    audit = AuditEvent("revoke", "client:c1", "revoke_endpoint", "c1", {})

    async def issue(store: SqliteStore) -> None:
        await store.insert_tokens(
            [_live(1, "g1"), _live(2, "g1"), _live(3, "g2", TokenType.REFRESH_TOKEN)]
        )

    on_store(db, issue)
    before = _payload(db)
    with sqlite3.connect(db) as conn:
        spares = conn.execute("SELECT length(spare) FROM tokens ORDER BY seq").fetchall()
    assert spares == [(5,), (5,), (5,)]

    async def revoke(store: SqliteStore) -> tuple[int, bool]:
        revoked = await store.revoke(RevocationTarget.grants(["g1"]), at, audit)
        rotated = await store.rotate_refresh_token(f"{3:064x}", [], at)
        return revoked, rotated

    assert on_store(db, revoke) == (2, True)
    # No row grew; one may be a byte shorter (a revoker id of 0 or 1 takes no bytes).
    assert before - 3 <= _payload(db) <= before
    with sqlite3.connect(db) as conn:
        after = conn.execute("SELECT revoked_at, spare FROM tokens ORDER BY seq").fetchall()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()
    assert after == [(at, None)] * 3 and integrity == ("ok",)


def test_room_migration_leaves_older_tokens_as_they_were(tmp_path: Path) -> None:
    """Tokens stored before 0008 have no spare; they read back and revoke as before, and
    a token stored already revoked gets none."""
    db = tmp_path / "m.db"
    _migrate_up_to(db, 7)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO tokens (tkn_cde, grt_id, cln_id, tkn_typ, grt_typ, iat, exp) "
            f"VALUES ('{1:064x}', 'g1', 'c1', 'access_token', 'client_credentials', 1, 4000000000)"
        )
    assert migrate(db)[:1] == ["0008_room_for_revocation.sql"]
    audit = AuditEvent("revoke", "admin", "leaked", "c1", {})
    gone = _live(2, "g2")
    gone.revoked_at, gone.revoked_by, gone.revoke_reason = 1_700_000_000, "admin", "leaked"

    async def use(store: SqliteStore) -> tuple[int, list[tuple[str, int | None, str | None]]]:
        await store.insert_tokens([gone])
        revoked = await store.revoke(RevocationTarget.grants(["g1"]), 1_700_000_100, audit)
        found = await store.get_tokens([f"{1:064x}", f"{2:064x}"])
        return revoked, sorted((t.grant_id, t.revoked_at, t.revoked_by) for t in found)

    assert on_store(db, use) == (
        1, [("g1", 1_700_000_100, "admin"), ("g2", 1_700_000_000, "admin")]
    )  # fmt: skip
    with sqlite3.connect(db) as conn:
        spares = conn.execute("SELECT spare FROM tokens ORDER BY seq").fetchall()
    assert spares == [(None,), (None,)]
