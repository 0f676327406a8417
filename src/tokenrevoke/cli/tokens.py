"""`tokenrevoke token`: search, show and revoke stored tokens through the config API."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient
from tokenrevoke.cli.common import AsJson, compact, console, err_console, fail, print_json, table
from tokenrevoke.cli.connection import admin_command, explain
from tokenrevoke.model import TokenType

token_app = typer.Typer(help="Search, show and revoke tokens (config API).", no_args_is_help=True)
DEFAULT_CONCURRENCY = 16
SHOWN_FAILURES = 10


# -- search and show ----------------------------------------------------------------------
def _state(token: dict[str, Any], now: str) -> str:
    if token.get("revoked"):
        return "[red]revoked[/red]"
    expires = token.get("expirationDate")
    if isinstance(expires, str) and expires <= now:
        return "[yellow]expired[/yellow]"
    return "[green]live[/green]"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@token_app.command("search")
@admin_command
def token_search(
    api: ConfigApiClient,
    pattern: Annotated[
        str, typer.Option(help="Substring of client, user, scope, grant or type; a|b for either.")
    ] = "",
    client: Annotated[str | None, typer.Option("--client", help="Only this client's.")] = None,
    token_type: Annotated[TokenType | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Page size.")] = 50,
    start: Annotated[int, typer.Option(min=0, help="Index of the first result.")] = 0,
    as_json: AsJson = False,
) -> None:
    """Search tokens (live, expired and revoked); --json prints the API's paged result."""
    pairs = []
    if client:
        pairs.append(f"clnId={client}")
    if token_type:
        pairs.append(f"tknTyp={token_type.value}")
    result = api.search_tokens(pattern, limit, start, field_value_pair=",".join(pairs))
    if as_json:
        print_json(result)
        return
    entries: list[dict[str, Any]] = result.get("entries") or []
    now = _now()
    grid = table("token code", "client", "type", "scope", "expires (UTC)", "state")
    for token in entries:
        grid.add_row(
            token.get("tokenCode", ""),
            token.get("clientId", ""),
            token.get("tokenType", ""),
            token.get("scope", ""),
            token.get("expirationDate", ""),
            _state(token, now),
        )
    console.print(grid)
    total = int(result.get("totalEntriesCount", len(entries)))
    shown_to = start + len(entries)
    line = f"{len(entries)} of {total} tokens"
    if shown_to < total:
        line += f"; next page: --start {shown_to}"
    console.print(line)


@token_app.command("show")
@admin_command
def token_show(
    api: ConfigApiClient,
    code: Annotated[str, typer.Argument(help="The token's code (tknCde) or the raw token.")],
    as_json: AsJson = False,
) -> None:
    """Show one token by its hashed code (tknCde) or the raw token."""
    try:
        token = api.get_token(code)
    except ApiClientError as exc:
        if exc.status != 404:
            raise
        from tokenrevoke.crypto import sha256_hex

        token = api.get_token(sha256_hex(code))  # a raw token: its code is its SHA-256
    if as_json:
        print_json(token)
        return
    grid = table("field", "value", show_header=False)
    for name, value in token.items():
        grid.add_row(name, compact(value))
    grid.add_row("state", _state(token, _now()))
    console.print(grid)


# -- revoke -------------------------------------------------------------------------------
def read_token_file(path: Path) -> list[str]:
    """One hashed code or raw token per line; blank lines and `#` comments are skipped."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def label(item: str) -> str:
    """How a token appears in messages: a code as it is, a raw token cut short."""
    if len(item) == 64 and all(c in "0123456789abcdef" for c in item):
        return item
    return item[:8] + "\u2026" if len(item) > 8 else item


@dataclass(slots=True)
class Summary:
    revoked: int = 0
    not_found: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def json(self) -> dict[str, Any]:
        return {
            "revoked": self.revoked,
            "notFound": self.not_found,
            "failed": self.failed,
            "failures": [{"token": t, "error": e} for t, e in self.failures],
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
        }


def _progress(show: bool | None, total: int) -> Progress:
    """Auto (None): a bar when stderr is a terminal and there is more than one token.
    --progress forces it, terminal or not (ANSI output on stderr)."""
    bar_console: Console = err_console
    if show:
        bar_console = Console(stderr=True, force_terminal=True)
    disabled = show is False or (show is None and (total < 2 or not err_console.is_terminal))
    return Progress(
        TextColumn("[bold]revoking"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=bar_console,
        disable=disabled,
    )


def revoke_all(
    api: ConfigApiClient, items: list[str], concurrency: int, show_progress: bool | None
) -> Summary:
    """Revoke concurrently on a bounded pool; every outcome is counted, none stops the rest."""
    summary = Summary()
    started = time.monotonic()
    futures: dict[Future[bool], str] = {}
    counted: set[Future[bool]] = set()
    with _progress(show_progress, len(items)) as progress:
        task = progress.add_task("revoking", total=len(items))
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="revoke")
        try:
            for item in items:
                futures[pool.submit(api.revoke_token, item)] = item
            for future in as_completed(futures):
                _count(summary, futures[future], future)
                counted.add(future)
                progress.advance(task)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if summary.interrupted:  # what was in flight has finished: count it too
        for future, item in futures.items():
            if future not in counted and future.done() and not future.cancelled():
                _count(summary, item, future)
    summary.seconds = time.monotonic() - started
    return summary


def _count(summary: Summary, item: str, future: Future[bool]) -> None:
    try:
        found = future.result()
    except ApiClientError as exc:
        summary.failed += 1
        summary.failures.append((label(item), explain(exc)))
    except Exception as exc:  # report it with the others; one bad line must not stop the run
        summary.failed += 1
        summary.failures.append((label(item), f"{type(exc).__name__}: {exc}"))
    else:
        if found:
            summary.revoked += 1
        else:
            summary.not_found += 1


def _print_summary(summary: Summary, total: int, duplicates: int) -> None:
    done = summary.revoked + summary.not_found + summary.failed
    rate = done / summary.seconds if summary.seconds > 0 else 0.0
    console.print(f"[green]revoked[/green]    {summary.revoked:>8}")
    console.print(f"[yellow]not found[/yellow]  {summary.not_found:>8}")
    console.print(f"[red]failed[/red]     {summary.failed:>8}")
    count = f"{done} of {total}" if done != total else f"{total}"
    extra = f"; {duplicates} duplicate lines skipped" if duplicates else ""
    console.print(f"{count} tokens in {summary.seconds:.1f} s ({rate:.0f}/s){extra}")
    if summary.interrupted:
        err_console.print("[yellow]interrupted: the rest was not sent[/yellow]")
    for token, error in summary.failures[:SHOWN_FAILURES]:
        err_console.print(f"[red]failed[/red] {escape(token)}: {escape(error)}", highlight=False)
    if len(summary.failures) > SHOWN_FAILURES:
        err_console.print(f"... and {len(summary.failures) - SHOWN_FAILURES} more failures")


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@token_app.command("revoke")
@admin_command
def token_revoke(
    api: ConfigApiClient,
    tokens: Annotated[
        list[str] | None,
        typer.Argument(help="Hashed codes (tknCde) or raw tokens.", show_default=False),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="One code or raw token per line ('-': stdin); blank lines and # comments "
            "are skipped.",
            allow_dash=True,
            dir_okay=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Requests in flight at once.")
    ] = DEFAULT_CONCURRENCY,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar on stderr \\[default: when stderr is a terminal].",
            show_default=False,
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Revoke tokens (each with its whole grant). Prints how many were revoked, not found
    (unknown, expired or already revoked) and failed; exits 1 if any failed."""
    listed = list(tokens or [])
    if from_file is not None:
        listed += read_token_file(from_file)
    items = unique(listed)
    if not items:
        raise fail("nothing to revoke: give codes or tokens, or --from-file FILE")
    api.authenticate("token.delete")  # bad credentials or a missing scope: fail before work
    summary = revoke_all(api, items, concurrency, progress)
    if as_json:
        print_json(summary.json())
    else:
        _print_summary(summary, len(items), len(listed) - len(items))
    if summary.interrupted:
        raise typer.Exit(130)
    if summary.failed:
        raise typer.Exit(1)


@token_app.command("revoke-user")
@admin_command
def token_revoke_user(
    api: ConfigApiClient,
    user: Annotated[str, typer.Argument(help="The user's inum or uid (login name).")],
    as_json: AsJson = False,
) -> None:
    """Revoke every token of a user, of every client, and end their sessions (what the
    global token revocation endpoint does). Exits 1 when no such user exists and nothing
    was revoked."""
    result = api.revoke_user_tokens(user)
    if as_json:
        print_json(result)
        return
    who = result["userId"] + (f" ({result['uid']})" if result.get("uid") else "")
    console.print(
        f"revoked {result['revokedTokens']} tokens of user {escape(who)}; "
        f"ended {result['endedSessions']} sessions"
    )
