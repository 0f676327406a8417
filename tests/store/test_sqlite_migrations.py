"""The migration runner (SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tokenrevoke.store import migrations
from tokenrevoke.store.sqlite.store import migrate


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
