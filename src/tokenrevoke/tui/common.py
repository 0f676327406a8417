"""What every screen shares: calling the API off the event loop, reporting errors, formatting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from rich.json import JSON
from rich.text import Text
from textual.app import App
from textual.widgets import Static

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
