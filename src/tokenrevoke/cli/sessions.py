"""`tokenrevoke session`: list, show and end users' browser sessions (config API,
`/jans-auth-server/session`). Ending a session revokes every token issued in it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from tokenrevoke.apiclient import ConfigApiClient
from tokenrevoke.cli.common import AsJson, all_entries, console, print_fields, print_json, table
from tokenrevoke.cli.connection import admin_command

session_app = typer.Typer(
    help="List, show and end users' browser sessions (config API).", no_args_is_help=True
)
User = Annotated[str, typer.Argument(help="The user's inum or uid (login name).")]
Sid = Annotated[str, typer.Argument(help="The session id (the sid claim of its id_tokens).")]
_STATE = {"authenticated": "[green]live[/green]", "ended": "[red]ended[/red]",
          "expired": "[yellow]expired[/yellow]"}  # fmt: skip


@session_app.command("list")
@admin_command
def session_list(
    api: ConfigApiClient,
    user: User,
    live: Annotated[bool, typer.Option("--live", help="Only the live sessions.")] = False,
    as_json: AsJson = False,
) -> None:
    """A user's sessions, newest first: when they signed in, last used, until when."""
    entries = all_entries(lambda start: api.sessions_of_user(user, live, start=start))
    if as_json:
        print_json(entries)
        return
    rows = table("session id", "state", "signed in (UTC)", "last used", "expires")
    for entry in entries:
        rows.add_row(
            entry["id"],
            _STATE.get(entry.get("state", ""), escape(str(entry.get("state")))),
            *(_when(entry.get(name)) for name in ("authenticationTime", "lastUsedAt",
                                                  "expirationDate")),
        )  # fmt: skip
    console.print(rows)
    live_count = sum(1 for e in entries if e.get("state") == "authenticated")
    console.print(f"{len(entries)} sessions, {live_count} live", highlight=False)


@session_app.command("show")
@admin_command
def session_show(api: ConfigApiClient, sid: Sid, as_json: AsJson = False) -> None:
    """One session (Janssen's SessionId JSON)."""
    session = api.get_session(sid)
    if as_json:
        print_json(session)
        return
    print_fields((name, _text(value)) for name, value in session.items())


@session_app.command("end")
@admin_command
def session_end(api: ConfigApiClient, sid: Sid) -> None:
    """End one session: the user must sign in again, and every token issued in the
    session is revoked. Exits 1 when there is no such session or it has already ended."""
    api.end_session(sid)
    console.print(f"ended session {escape(sid)} and revoked its tokens", highlight=False)


@session_app.command("end-user")
@admin_command
def session_end_user(api: ConfigApiClient, user: User) -> None:
    """End every session of a user, at every client, with their tokens (what Janssen's
    /revoke_session does). Tokens issued outside a browser session stay: `token
    revoke-user` revokes those too."""
    live = [
        e["id"] for e in all_entries(lambda start: api.sessions_of_user(user, True, start=start))
    ]
    api.end_user_sessions(user)
    console.print(
        f"ended {len(live)} live sessions of user {escape(user)} and revoked their tokens",
        highlight=False,
    )


def _when(value: Any) -> str:
    return str(value).replace("T", " ")[:16] if value else ""


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
