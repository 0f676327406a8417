"""`tokenrevoke config` (auth-server properties) and `tokenrevoke feature` (feature flags),
through the config API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tokenrevoke.apiclient import ConfigApiClient
from tokenrevoke.cli.common import AsJson, compact, console, fail, print_json, table
from tokenrevoke.cli.connection import admin_command
from tokenrevoke.model import ConfigError, FeatureFlag
from tokenrevoke.model.config import ALL_PROPERTIES, parse_flag, parse_property_value, toggle_flag

config_app = typer.Typer(
    help="Read and change auth-server properties (config API).", no_args_is_help=True
)
feature_app = typer.Typer(
    help="List, enable and disable feature flags (config API).", no_args_is_help=True
)


# -- properties ---------------------------------------------------------------------------
@config_app.command("get")
@admin_command
def config_get(
    api: ConfigApiClient,
    name: Annotated[str | None, typer.Argument(help="One property (default: all).")] = None,
    as_json: AsJson = False,
) -> None:
    """Show the effective properties, or print one property's value as JSON."""
    properties = api.get_properties()
    if name is not None:
        if name not in properties and name not in ALL_PROPERTIES:
            raise fail(f"unknown property {name!r}")
        print_json(properties.get(name))  # null: known, not set
        return
    if as_json:
        print_json(properties)
        return
    grid = table("property", "value")
    for key in sorted(properties):
        grid.add_row(key, compact(properties[key]))
    console.print(grid)


# A VALUE such as -5 is a value, not an option.
@config_app.command("set", context_settings={"ignore_unknown_options": True})
@admin_command
def config_set(
    api: ConfigApiClient,
    name: str,
    value: Annotated[str, typer.Argument(help="JSON (lists may be comma-separated).")],
) -> None:
    """Set one property. Takes effect at once, on every node within a second."""
    try:
        parsed: Any = parse_property_value(name, value)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    api.set_property(name, parsed)
    console.print(f"{name} = {json.dumps(parsed)}", highlight=False, markup=False)


def _read_patch(source: Path) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text()
        patch = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise fail(f"cannot read a JSON Patch from {source}: {exc}") from None
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise fail(f'{source}: a JSON Patch is an array of operations: [{{"op": ...}}, ...]')
    return patch


@config_app.command("patch")
@admin_command
def config_patch(
    api: ConfigApiClient,
    source: Annotated[
        Path,
        typer.Argument(
            help="A JSON Patch (RFC 6902) file, or - for stdin.", allow_dash=True, dir_okay=False
        ),
    ],
    as_json: AsJson = False,
) -> None:
    """Apply a JSON Patch to the properties, all or nothing."""
    patch = _read_patch(source)
    properties = api.patch_properties(patch)
    if as_json:
        print_json(properties)
    else:
        console.print(f"applied {len(patch)} operation{'s' if len(patch) != 1 else ''}")


# -- feature flags ------------------------------------------------------------------------
def enabled_flags(configured: list[str]) -> set[str]:
    """As the server reads `featureFlags`: unknown names ignored; none left = all enabled."""
    known = {f.value for f in FeatureFlag}
    return {f.upper() for f in configured} & known or known


@feature_app.command("list")
@admin_command
def feature_list(api: ConfigApiClient, as_json: AsJson = False) -> None:
    """Show every feature flag and whether it is enabled."""
    on = enabled_flags(api.feature_flags())
    state = {f.value: f.value in on for f in FeatureFlag}
    if as_json:
        print_json(state)
        return
    grid = table("feature flag", "enabled")
    for flag, enabled in state.items():
        grid.add_row(flag, "[green]yes[/green]" if enabled else "[red]no[/red]")
    console.print(grid)


def _set_flag(api: ConfigApiClient, name: str, enabled: bool) -> None:
    try:
        flag = parse_flag(name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    flags = toggle_flag(api.feature_flags(), flag, enabled)
    api.set_property("featureFlags", flags)
    console.print(f"{flag.value} {'enabled' if enabled else 'disabled'}")


@feature_app.command("enable")
@admin_command
def feature_enable(api: ConfigApiClient, name: str) -> None:
    """Enable a feature flag (for example REVOKE_TOKEN)."""
    _set_flag(api, name, True)


@feature_app.command("disable")
@admin_command
def feature_disable(api: ConfigApiClient, name: str) -> None:
    """Disable a feature flag (for example REVOKE_TOKEN)."""
    _set_flag(api, name, False)
