"""Entry point: `tokenrevoke <command>`.

`serve`, `init` and `user` work on the local store (`--data-dir`); every other command is
an admin command that talks to a running server's config API (`--url`, `--client-id`, ...).
"""

from __future__ import annotations

import importlib
import os
from typing import Annotated

import typer

from tokenrevoke.cli import admin, clients, local, properties, scripts, server, sessions, tokens
from tokenrevoke.cli.common import fail
from tokenrevoke.cli.connection import Connection, connection_command
from tokenrevoke.startup import DEBUG_ENV, StartupError, debugging

app = typer.Typer(
    name="tokenrevoke",
    help="A fast, Janssen wire-compatible OAuth 2.0 token revocation server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help="Show Python tracebacks (errors are otherwise one line).",
        ),
    ] = False,
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"  # worker processes inherit it


app.command(rich_help_panel="Local (data directory)")(server.serve)
app.command(rich_help_panel="Local (data directory)")(server.init)
app.add_typer(local.user_app, name="user", rich_help_panel="Local (data directory)")
app.command("audit", rich_help_panel="Local (data directory)")(local.audit)
db_app = typer.Typer(help="Schema migrations.", no_args_is_help=True)
db_app.command("upgrade")(server.db_upgrade)
app.add_typer(db_app, name="db", rich_help_panel="Local (data directory)")
app.add_typer(admin.admin_app, name="admin", rich_help_panel="Local (data directory)")
app.add_typer(tokens.token_app, name="token", rich_help_panel="Admin (config API)")
app.add_typer(clients.client_app, name="client", rich_help_panel="Admin (config API)")
app.add_typer(clients.scope_app, name="scope", rich_help_panel="Admin (config API)")
app.add_typer(properties.config_app, name="config", rich_help_panel="Admin (config API)")
app.add_typer(properties.feature_app, name="feature", rich_help_panel="Admin (config API)")
app.add_typer(scripts.script_app, name="script", rich_help_panel="Admin (config API)")
app.add_typer(sessions.session_app, name="session", rich_help_panel="Admin (config API)")


@app.command("tui", rich_help_panel="Admin (config API)")
@connection_command
def tui(conn: Connection) -> None:
    """Open the terminal UI on a server's config API."""
    try:
        module = importlib.import_module("tokenrevoke.tui.app")
    except ImportError as exc:
        raise fail(f"the terminal UI is not available: {exc}") from None
    module.run_tui(conn.url, conn.client_id, conn.client_secret, conn.verify)


def main() -> None:
    """`tokenrevoke`: errors are one line on stderr and exit status 1; --debug (or
    TOKENREVOKE_DEBUG=1) shows the traceback instead (docs/cli.md, *Errors*)."""
    try:
        app()
    except StartupError as exc:
        if debugging():
            raise
        raise SystemExit(fail(str(exc)).exit_code) from None
    except Exception as exc:
        if debugging():
            raise
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise SystemExit(fail(f"{message} (--debug shows the traceback)").exit_code) from None


if __name__ == "__main__":
    main()
