"""A server on each store: suites that must hold on SQLite and PostgreSQL alike take the
`store` a module-scoped `server` fixture is parametrized with (see `server_on`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.postgres import throwaway_database
from tests.support.server import Server

STORES = ["sqlite", "postgres"]


@contextmanager
def server_on(store: str, data_dir: Path, **kwargs: Any) -> Iterator[Server]:
    """A started server (kwargs as for `Server`) on SQLite in `data_dir`, or on a
    throwaway PostgreSQL database; stopped (and the database dropped) afterwards."""
    if store == "sqlite":
        server = Server(data_dir, **kwargs).start()
        try:
            yield server
        finally:
            server.stop()
        return
    with throwaway_database("tokenrevoke_suite") as url:
        server = Server(data_dir, database_url=url, **kwargs).start()
        try:
            yield server
        finally:
            server.stop()


def is_postgres(server: Server) -> bool:
    return server.database_url is not None
