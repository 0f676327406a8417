"""What every command shares: store options, running a coroutine against the store, output."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console

from tokenrevoke.crypto import SecretBox
from tokenrevoke.settings import Settings
from tokenrevoke.store import Store, open_store

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="TOKENREVOKE_DATA_DIR",
        help="Where the SQLite store and master key live.",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TOKENREVOKE_DATABASE_URL",
        help="Store URL (default: SQLite in the data dir).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripting.")]
DEFAULT_DATA_DIR = Path("tokenrevoke-data")


def run_with_store(
    data_dir: Path,
    database_url: str | None,
    work: Callable[[Store, SecretBox, Settings], Awaitable[T]],
) -> T:
    settings = Settings(data_dir=data_dir, database_url=database_url)

    async def main() -> T:
        store = await open_store(settings.store_url)
        try:
            return await work(store, SecretBox(settings.master_key()), settings)
        finally:
            await store.close()

    return asyncio.run(main())


def print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)
