"""Entry point: `tokenrevoke <command>`.

`serve`, `init` and `user` work on the local store (`--data-dir`); every other command is
an admin command that talks to a running server's config API (`--url`, `--client-id`, ...).
"""

from __future__ import annotations

import importlib

import typer

from tokenrevoke.cli import clients, local, properties, scripts, server, tokens
from tokenrevoke.cli.common import fail
from tokenrevoke.cli.connection import Connection, connection_command

app = typer.Typer(
    name="tokenrevoke",
    help="A fast, Janssen wire-compatible OAuth 2.0 token revocation server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(rich_help_panel="Local (data directory)")(server.serve)
app.command(rich_help_panel="Local (data directory)")(server.init)
app.add_typer(local.user_app, name="user", rich_help_panel="Local (data directory)")
db_app = typer.Typer(help="Schema migrations.", no_args_is_help=True)
db_app.command("upgrade")(server.db_upgrade)
app.add_typer(db_app, name="db", rich_help_panel="Local (data directory)")
app.add_typer(tokens.token_app, name="token", rich_help_panel="Admin (config API)")
app.add_typer(clients.client_app, name="client", rich_help_panel="Admin (config API)")
app.add_typer(clients.scope_app, name="scope", rich_help_panel="Admin (config API)")
app.add_typer(properties.config_app, name="config", rich_help_panel="Admin (config API)")
app.add_typer(properties.feature_app, name="feature", rich_help_panel="Admin (config API)")
app.add_typer(scripts.script_app, name="script", rich_help_panel="Admin (config API)")


@app.command("tui", rich_help_panel="Admin (config API)")
@connection_command
def tui(conn: Connection) -> None:
    """Open the terminal UI on a server's config API."""
    try:
        module = importlib.import_module("tokenrevoke.tui.app")
    except ImportError as exc:
        raise fail(f"the terminal UI is not available: {exc}") from None
    module.run_tui(conn.url, conn.client_id, conn.client_secret, conn.verify)


if __name__ == "__main__":
    app()
