"""What every screen shares: calling the API off the event loop, reporting errors, formatting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from rich.json import JSON
from rich.text import Text
from textual.app import App
from textual.geometry import Size
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient

P = ParamSpec("P")
T = TypeVar("T")


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking `ConfigApiClient` call in a thread. Whatever goes wrong comes back as
    an `ApiClientError`, so a screen only ever handles that one exception."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except ApiClientError:
        raise
    except Exception as exc:  # a malformed answer, a proxy's HTML page...: report, not crash
        raise ApiClientError(f"unexpected answer from the server: {exc!r}") from exc


def describe(exc: ApiClientError) -> str:
    """One line for the status bar: the server's own description where it gave one."""
    body = exc.body
    if exc.status == 400 and isinstance(body, dict) and body.get("description"):
        return str(body["description"])
    if exc.status == 401:
        return f"401 Unauthorized: {exc}"
    if exc.status == 403:
        return f"403 Forbidden: {exc}"
    return str(exc)


class StatusLine(Static):
    """The last thing that happened, one line above the footer; red for errors."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    StatusLine.-error {
        background: $error 30%;
        color: $text;
    }
    """

    text: str = ""

    def show(self, text: str, *, error: bool = False) -> None:
        self.text = text
        self.set_class(error, "-error")
        self.update(Text(("\u2717 " if error else "") + text, no_wrap=True, overflow="ellipsis"))


class Reporter:
    """Sends messages to the status line and, for errors, to a notification too."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self.line: StatusLine | None = None
        self.last: str = ""
        self.last_error: str = ""

    def info(self, text: str) -> None:
        self.last = text
        if self.line is not None:
            self.line.show(text)

    def error(self, problem: ApiClientError | str) -> None:
        text = problem if isinstance(problem, str) else describe(problem)
        self.last = self.last_error = text
        if self.line is not None:
            self.line.show(text, error=True)
        self._app.notify(text, title="Error", severity="error", timeout=8, markup=False)


@dataclass(frozen=True, slots=True)
class Context:
    """Handed to every screen: the API client and where to report."""

    api: ConfigApiClient
    report: Reporter


def compact(value: Any, width: int = 60) -> str:
    """A JSON value on one line, cut to `width` characters."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def cell(value: object, width: int | None = None, style: str = "") -> Text:
    """A table cell: plain text (what the server sends is never read as markup), one line."""
    text = "" if value is None else str(value)
    if width is not None:
        text = shorten(text, width)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def pretty(value: Any) -> JSON:
    return JSON(json.dumps(value, default=str), indent=2)


def fit_widths(natural: Sequence[int], room: int, floor: int = 3) -> list[int]:
    """Column widths that add up to at most `room`: the widest columns give up width first
    (each keeps at least `floor`, or its natural width when that is less)."""
    if sum(natural) <= room or not natural:
        return list(natural)
    low, high = floor, max(natural)  # the largest cap under which everything fits
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in natural) <= room:
            low = mid
        else:
            high = mid - 1
    widths = [min(n, low) for n in natural]
    spare = room - sum(widths)
    for i, n in enumerate(natural):  # what is left, one cell each, to the columns cut
        if spare > 0 and widths[i] < n:
            widths[i] += 1
            spare -= 1
    return widths


class FitTable(DataTable[Text]):
    """A `DataTable` whose columns always fit its width: every row is one line and nothing
    scrolls sideways. When the cells are wider than the table, the widest columns give up
    width first and their cells end in an ellipsis (each screen shows the whole record in
    its detail pane)."""

    DEFAULT_CSS = """
    FitTable {
        overflow-x: hidden;
    }
    """

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures new rows here (when idle, after rows change): fit after it.
        super()._update_dimensions(new_rows)
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        columns = self.ordered_columns
        room = (
            self.size.width
            - self.styles.scrollbar_size_vertical  # kept free: the rows may come to scroll
            - 2 * self.cell_padding * len(columns)
        )
        if room <= 0 or not columns:
            return
        natural = [
            max([column.label.cell_len, *(cell.cell_len for cell in self.get_column(column.key))])
            for column in columns
        ]
        widths = fit_widths(natural, room)
        if all(not c.auto_width and c.width == w for c, w in zip(columns, widths, strict=True)):
            return
        for column, width in zip(columns, widths, strict=True):
            column.auto_width = False
            column.width = width
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in columns), self.virtual_size.height
        )
        self._clear_caches()
