"""The data directory is the server's alone: 0700, and every file in it 0600 (the
database with its `-wal` and `-shm`, the master key), whatever the umask; files of an
older installation are tightened at start (docs/security.md, S20)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    """The usual 022: without the fix, SQLite creates its files 0644 under it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private_directory(data_dir: Path) -> None:
    assert mode(data_dir) == 0o700, oct(mode(data_dir))


def assert_private(data_dir: Path) -> None:
    assert_private_directory(data_dir)
    names = {p.name for p in data_dir.iterdir()}
    assert {"tokenrevoke.db", "tokenrevoke.db-wal", "tokenrevoke.db-shm", "master.key"} <= names
    for path in data_dir.iterdir():
        assert mode(path) == 0o600, (path.name, oct(mode(path)))


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    """`init` creates the directory (the harness's `start` would make it first)."""
    server = Server(tmp_path / "new" / "data")
    server.cli("init")
    assert_private_directory(server.data_dir)
    server.start()
    try:
        client = server.create_client(grant_types=["client_credentials"])
        server.token(client)
        assert_private(server.data_dir)
    finally:
        server.stop()


def test_files_of_an_older_installation_are_tightened(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    server.stop()
    for path in server.data_dir.iterdir():
        if path.name.startswith("tokenrevoke.db"):
            path.chmod(0o644)
    server.start()
    try:
        server.token(server.create_client(grant_types=["client_credentials"]))
        for path in server.data_dir.iterdir():
            assert mode(path) == 0o600, (path.name, oct(mode(path)))
    finally:
        server.stop()
