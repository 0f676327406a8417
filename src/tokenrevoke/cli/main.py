"""Entry point: `tokenrevoke <command>`."""

from __future__ import annotations

import typer

from tokenrevoke.cli import local, server

app = typer.Typer(
    name="tokenrevoke",
    help="A fast, Janssen wire-compatible OAuth 2.0 token revocation server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(server.serve)
app.command()(server.init)
app.add_typer(local.client_app, name="client")
app.add_typer(local.user_app, name="user")
app.add_typer(local.script_app, name="script")
app.add_typer(local.config_app, name="config")
app.add_typer(local.feature_app, name="feature")

if __name__ == "__main__":
    app()
