"""`tokenrevoke script`: revoke_token interception scripts, through the config API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient
from tokenrevoke.cli.common import (
    AsJson,
    all_entries,
    console,
    fail,
    print_fields,
    print_json,
    table,
)
from tokenrevoke.cli.connection import admin_command

script_app = typer.Typer(
    help="Manage revoke_token interception scripts (config API).", no_args_is_help=True
)
Key = Annotated[str, typer.Argument(help="The script's inum or name.")]


def _scripts(api: ConfigApiClient) -> list[dict[str, Any]]:
    return all_entries(lambda start: api.list_scripts(200, start))


def find_script(api: ConfigApiClient, key: str) -> dict[str, Any]:
    scripts = _scripts(api)
    for attribute in ("inum", "name"):
        for script in scripts:
            if script.get(attribute) == key:
                return script
    raise fail(f"no script {key!r}")


@script_app.command("list")
@admin_command
def script_list(api: ConfigApiClient, as_json: AsJson = False) -> None:
    """List scripts in the order they run."""
    scripts = sorted(_scripts(api), key=lambda s: (s.get("level", 0), s.get("name", "")))
    if as_json:
        print_json(scripts)
        return
    grid = table("inum", "name", "type", "level", "enabled")
    for s in scripts:
        grid.add_row(
            s.get("inum", ""),
            s.get("name", ""),
            s.get("scriptType", ""),
            str(s.get("level", "")),
            "[green]yes[/green]" if s.get("enabled") else "[red]no[/red]",
        )
    console.print(grid)


@script_app.command("show")
@admin_command
def script_show(api: ConfigApiClient, key: Key, as_json: AsJson = False) -> None:
    """Show one script and its source (by inum or name)."""
    script = find_script(api, key)
    if as_json:
        print_json(script)
        return
    print_fields((name, value) for name, value in script.items() if name != "script")
    from rich.syntax import Syntax  # pygments: only here

    console.print(Syntax(str(script.get("script", "")), "python", line_numbers=True))


@script_app.command("add")
@admin_command
def script_add(
    api: ConfigApiClient,
    name: Annotated[str, typer.Option(help="Unique name.")],
    file: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Python source.")],
    level: Annotated[int, typer.Option(help="Order: lower runs first.")] = 100,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="Active at once.")] = True,
    attribute: Annotated[
        list[str] | None, typer.Option(help="Configuration attribute name=value, repeatable.")
    ] = None,
    description: Annotated[str, typer.Option()] = "",
    as_json: AsJson = False,
) -> None:
    """Add a revoke_token script (the server validates it before storing it)."""
    properties = []
    for item in attribute or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--attribute {item!r}: expected name=value")
        properties.append({"value1": key.strip(), "value2": value, "hide": False})
    try:
        source = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None
    document = {
        "name": name,
        "description": description,
        "script": source,
        "scriptType": "revoke_token",
        "programmingLanguage": "python",
        "level": level,
        "enabled": enabled,
        "configurationProperties": properties,
    }
    try:
        saved = api.create_script(document)
    except ApiClientError as exc:
        if exc.status == 400:
            raise fail(f"script rejected: {exc.description or exc}") from None
        raise
    if as_json:
        print_json(saved)
    else:
        console.print(f"added script {saved['name']} (inum {saved['inum']})")


def _toggle(api: ConfigApiClient, key: str, enabled: bool) -> None:
    script = find_script(api, key)
    api.patch_script(script["inum"], [{"op": "replace", "path": "/enabled", "value": enabled}])
    console.print(f"script {script['name']} {'enabled' if enabled else 'disabled'}")


@script_app.command("enable")
@admin_command
def script_enable(api: ConfigApiClient, key: Key) -> None:
    """Enable a script (by inum or name)."""
    _toggle(api, key, True)


@script_app.command("disable")
@admin_command
def script_disable(api: ConfigApiClient, key: Key) -> None:
    """Disable a script (by inum or name)."""
    _toggle(api, key, False)


@script_app.command("remove")
@admin_command
def script_remove(api: ConfigApiClient, key: Key) -> None:
    """Remove a script (by inum or name)."""
    script = find_script(api, key)
    api.delete_script(script["inum"])
    console.print(f"removed script {script['name']}")
