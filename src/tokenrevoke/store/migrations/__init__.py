"""Schema migrations: numbered SQL files per backend, applied in order, each once.

A deliberately small runner (see docs/architecture.md): files are `NNNN_name.sql`; the
applied versions are kept in `schema_migrations`; each file runs in its own transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(backend: str) -> list[Migration]:
    folder = resources.files("tokenrevoke.store.migrations").joinpath(backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {backend}: {versions}")
    return found


def pending(backend: str, applied: set[int]) -> list[Migration]:
    return [m for m in load_migrations(backend) if m.version not in applied]
