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
from rich.table import Table
from rich.text import Text

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient
from tokenrevoke.cli.common import (
    GAP,
    AsJson,
    compact,
    console,
    err_console,
    fail,
    line_table,
    print_fields,
    print_json,
)
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


# The table fits the terminal (80 columns at least) with one line per token: codes are cut
# (the full code is in --json and `token show`), client and scope share what is left and end
# in an ellipsis when they do not fit.
CODE_SHOWN = 10
FIXED_WIDTHS = {"token code": CODE_SHOWN + 1, "type": 13, "expires (UTC)": 16, "state": 7}


def _cut_code(code: str) -> str:
    return code if len(code) <= CODE_SHOWN + 1 else code[:CODE_SHOWN] + "\u2026"


def _expires(value: Any) -> str:
    """Janssen's `2026-12-06T23:26:00` to the minute: the seconds do not fit 80 columns."""
    return value[:16].replace("T", " ") if isinstance(value, str) else ""


def _token_grid(entries: list[dict[str, Any]], width: int) -> Table:
    names = ("token code", "client", "type", "scope", "expires (UTC)", "state")
    flexible = max(width - sum(FIXED_WIDTHS.values()) - GAP * (len(names) - 1), 2 * 6)
    longest_client = max([len("client"), *(len(str(t.get("clientId", ""))) for t in entries)])
    client_width = min(longest_client, flexible // 2)
    widths = {**FIXED_WIDTHS, "client": client_width, "scope": flexible - client_width}
    grid = line_table(names, [widths[n] for n in names])
    now = _now()
    for token in entries:
        grid.add_row(
            escape(_cut_code(str(token.get("tokenCode", "")))),
            escape(str(token.get("clientId", ""))),
            escape(str(token.get("tokenType", ""))),
            escape(str(token.get("scope", ""))),
            _expires(token.get("expirationDate")),
            _state(token, now),
        )
    return grid


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
    console.print(_token_grid(entries, console.width))
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
    print_fields([*token.items(), ("state", Text.from_markup(_state(token, _now())))])


# -- revoke -------------------------------------------------------------------------------
def read_token_file(path: Path) -> list[str]:
    """One hashed code or raw token per line (blank lines and `#` comments skipped), or the
    JSON that `token search --json` prints (its entries' `tokenCode`s)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    if text.lstrip().startswith(("{", "[")):  # no token or code starts so (base64url, hex)
        return _codes_from_json(path, text)
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _codes_from_json(path: Path, text: str) -> list[str]:
    import orjson

    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise fail(f"{path} starts like JSON but is not JSON: {exc}") from None
    entries = document.get("entries") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise fail(f'{path}: expected the JSON of `token search --json` ({{"entries": [...]}})')
    codes: list[str] = []
    for entry in entries:
        code = entry.get("tokenCode") if isinstance(entry, dict) else entry
        if not isinstance(code, str) or not code:
            raise fail(f"{path}: an entry has no tokenCode: {compact(entry)[:80]}")
        codes.append(code)
    return codes


def label(item: str) -> str:
    """How a token appears in messages: a code as it is, a raw token cut short."""
    if _is_code(item):
        return item
    return item[:8] + "\u2026" if len(item) > 8 else item


def _is_code(item: str) -> bool:
    return len(item) == 64 and all(c in "0123456789abcdef" for c in item)


# What became of one line.
REVOKED, ALREADY_REVOKED, EXPIRED, UNKNOWN = "revoked", "already revoked", "expired", "unknown"


def revoke_one(api: ConfigApiClient, item: str) -> str:
    """Revoke; when the server has no live token (404), find out why: the token is known
    and revoked (by an earlier line's grant, say) or expired, or it is unknown."""
    if api.revoke_token(item):
        return REVOKED
    token = _find(api, item)
    if token is None:
        return UNKNOWN
    return ALREADY_REVOKED if token.get("revoked") else EXPIRED


def _find(api: ConfigApiClient, item: str) -> dict[str, Any] | None:
    from tokenrevoke.crypto import sha256_hex

    codes = [item] if _is_code(item) else [sha256_hex(item), item]
    for code in codes:
        try:
            return api.get_token(code)
        except ApiClientError as exc:
            if exc.status != 404:
                raise
    return None


@dataclass(slots=True)
class Summary:
    revoked: int = 0
    already_revoked: int = 0
    expired: int = 0
    unknown: int = 0
    failed: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    unknown_tokens: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def done(self) -> int:
        return self.revoked + self.already_revoked + self.expired + self.unknown + self.failed

    def json(self) -> dict[str, Any]:
        return {
            "revoked": self.revoked,
            "alreadyRevoked": self.already_revoked,
            "expired": self.expired,
            "unknown": self.unknown,
            "failed": self.failed,
            "duplicates": self.duplicates,
            "failures": [{"token": t, "error": e} for t, e in self.failures],
            "unknownTokens": self.unknown_tokens,
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
    futures: dict[Future[str], str] = {}
    counted: set[Future[str]] = set()
    with _progress(show_progress, len(items)) as progress:
        task = progress.add_task("revoking", total=len(items))
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="revoke")
        try:
            for item in items:
                futures[pool.submit(revoke_one, api, item)] = item
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


def _count(summary: Summary, item: str, future: Future[str]) -> None:
    try:
        outcome = future.result()
    except ApiClientError as exc:
        summary.failed += 1
        summary.failures.append((label(item), explain(exc)))
    except Exception as exc:  # report it with the others; one bad line must not stop the run
        summary.failed += 1
        summary.failures.append((label(item), f"{type(exc).__name__}: {exc}"))
    else:
        if outcome == REVOKED:
            summary.revoked += 1
        elif outcome == ALREADY_REVOKED:
            summary.already_revoked += 1
        elif outcome == EXPIRED:
            summary.expired += 1
        else:
            summary.unknown += 1
            summary.unknown_tokens.append(label(item))


def _print_summary(summary: Summary, total: int) -> None:
    rate = summary.done / summary.seconds if summary.seconds > 0 else 0.0
    console.print(f"[green]revoked[/green]          {summary.revoked:>8}")
    console.print(f"already revoked  {summary.already_revoked:>8}")
    console.print(f"expired          {summary.expired:>8}")
    console.print(f"[yellow]unknown[/yellow]          {summary.unknown:>8}")
    console.print(f"[red]failed[/red]           {summary.failed:>8}")
    count = f"{summary.done} of {total}" if summary.done != total else f"{total}"
    extra = f"; {summary.duplicates} duplicate lines sent once" if summary.duplicates else ""
    console.print(f"{count} tokens in {summary.seconds:.1f} s ({rate:.0f}/s){extra}")
    if summary.interrupted:
        err_console.print("[yellow]interrupted: the rest was not sent[/yellow]")
    for token in summary.unknown_tokens[:SHOWN_FAILURES]:
        err_console.print(f"[yellow]unknown[/yellow] {escape(token)}", highlight=False)
    if len(summary.unknown_tokens) > SHOWN_FAILURES:
        err_console.print(f"... and {len(summary.unknown_tokens) - SHOWN_FAILURES} more unknown")
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
            help="One code or raw token per line ('-': stdin; blank lines and # comments "
            "are skipped), or the JSON of `token search --json`.",
            allow_dash=True,
            dir_okay=False,
        ),
    ] = None,
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="Exit 0 even when some tokens are unknown to the server (failures still exit 1).",
        ),
    ] = False,
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
    """Revoke tokens (each with its whole grant). Prints how many were revoked, already
    revoked, expired, unknown and failed; exits 1 if any failed or was unknown."""
    listed = list(tokens or [])
    if from_file is not None:
        listed += read_token_file(from_file)
    items = unique(listed)
    if not items:
        raise fail("nothing to revoke: give codes or tokens, or --from-file FILE")
    api.authenticate("token.delete")  # bad credentials or a missing scope: fail before work
    summary = revoke_all(api, items, concurrency, progress)
    summary.duplicates = len(listed) - len(items)
    if as_json:
        print_json(summary.json())
    else:
        _print_summary(summary, len(items))
    if summary.interrupted:
        raise typer.Exit(130)
    if summary.failed or (summary.unknown and not allow_unknown):
        if not as_json:
            what = f"{summary.unknown} unknown" if summary.unknown else ""
            if summary.failed:
                what = f"{what}, {summary.failed} failed" if what else f"{summary.failed} failed"
            hint = "" if summary.failed or allow_unknown else " (--allow-unknown: exit 0)"
            err_console.print(f"[red]not all revoked:[/red] {what}{hint}", highlight=False)
        raise typer.Exit(1)


@token_app.command("revoke-all")
@admin_command
def token_revoke_all(
    api: ConfigApiClient,
    client_id: Annotated[str, typer.Argument(help="The client whose tokens to revoke.")],
    client_secret: Annotated[
        str,
        typer.Option(
            "--revoking-client-secret",
            envvar="TOKENREVOKE_REVOKING_CLIENT_SECRET",
            prompt="The client's secret",
            hide_input=True,
            help="That client's own secret: revoke-all is the client's act at /revoke.",
        ),
    ],
) -> None:
    """Revoke every token of a client as the client itself does (token=all at /revoke).
    Stops, saying so, when allowAllValueForRevokeEndpoint is off: then /revoke answers 200
    to token=all and revokes nothing (Janssen's behaviour)."""
    live_before = _live_tokens(api, client_id)
    if not api.get_properties().get("allowAllValueForRevokeEndpoint"):
        raise fail(
            "allowAllValueForRevokeEndpoint is off, so /revoke would answer 200 to token=all "
            f"and revoke nothing ({live_before} live tokens of {client_id} stay live). Turn "
            "it on first: tokenrevoke config set allowAllValueForRevokeEndpoint true"
        )
    api.revoke_all_as_client(client_id, client_secret)
    live_after = _live_tokens(api, client_id)
    console.print(
        f"revoked {live_before - live_after} tokens of client {escape(client_id)}; "
        f"{live_after} live left",
        highlight=False,
    )
    if live_after:
        raise typer.Exit(1)


def _live_tokens(api: ConfigApiClient, client_id: str) -> int:
    from tokenrevoke.cli.common import all_entries

    now = _now()
    entries = all_entries(
        lambda start: api.search_tokens("", 200, start, field_value_pair=f"clnId={client_id}")
    )
    return sum(1 for t in entries if "live" in _state(t, now))


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
