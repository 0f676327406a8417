"""What every command shares: output helpers; for the local commands (serve, init, user),
the store options and running a coroutine against the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:  # the store is for the local commands only: admin commands start faster
    from tokenrevoke.crypto import SecretBox
    from tokenrevoke.settings import Settings
    from tokenrevoke.store import Store

T = TypeVar("T")
# Lines are never wrapped (a secret or a code must stay copyable); tables fit the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

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
GAP = 2  # between the columns of a `line_table`: a space of padding, a blank divider


def run_with_store(
    data_dir: Path,
    database_url: str | None,
    work: Callable[[Store, SecretBox, Settings], Awaitable[T]],
) -> T:
    import asyncio

    from tokenrevoke.settings import Settings
    from tokenrevoke.startup import open_checked

    settings = Settings(data_dir=data_dir, database_url=database_url)

    async def main() -> T:
        store, box = await open_checked(settings)
        try:
            return await work(store, box, settings)
        finally:
            await store.close()

    return asyncio.run(main())


def print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (no traceback)."""
    err_console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def all_entries(fetch: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every entry of a paged config-API list: `fetch(start)` returns one page."""
    entries: list[dict[str, Any]] = []
    while True:
        page = fetch(len(entries))
        got = page.get("entries") or []
        entries.extend(got)
        if not got or len(entries) >= int(page.get("totalEntriesCount", 0)):
            return entries


def table(*headers: str, show_header: bool = True) -> Table:
    """A table whose cells wrap rather than cut: ids and codes must stay copyable."""
    return Table(*(Column(h, overflow="fold") for h in headers), show_header=show_header)


def compact(value: Any) -> str:
    """A JSON value on one line, for a table cell (strings as they are)."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def print_fields(rows: Iterable[tuple[str, Any]]) -> None:
    """One `name  value` line per field, the names aligned: no box and no folding, so an id
    or a code stays whole and copyable (a value wider than the terminal wraps there). A
    value is shown as it is (a `Text` keeps its style), never read as markup."""
    lines = [(name, v if isinstance(v, Text) else Text(compact(v))) for name, v in rows]
    width = max((len(name) for name, _ in lines), default=0)
    for name, value in lines:
        console.print(Text(f"{name.ljust(width)}  ").append_text(value), highlight=False)


def line_table(names: Sequence[str], widths: Sequence[int]) -> Table:
    """A borderless table of one line per row, column `i` at most `widths[i]` wide (cut with
    `…`): what fits the terminal (see `share_width`)."""
    columns = (
        Column(n, no_wrap=True, overflow="ellipsis", max_width=w)
        for n, w in zip(names, widths, strict=True)
    )
    return Table(
        *columns, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0)
    )


def share_width(wanted: Sequence[int], available: int) -> list[int]:
    """Widths for columns that want `wanted` (their longest cell) within `available`: all
    they want when it fits, else the narrow ones whole and the rest an equal share."""
    widths = [0] * len(wanted)
    left = sorted(range(len(wanted)), key=lambda i: wanted[i])
    room = available
    while left:
        share = max(room // len(left), 4)
        i = left.pop(0)
        widths[i] = min(wanted[i], share)
        room -= widths[i]
    return widths
