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
from tokenrevoke.model import ConfigError
from tokenrevoke.model.config import (
    ALL_PROPERTIES,
    FlagState,
    flag_states,
    parse_flag,
    parse_property_value,
    toggle_flag,
)

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
@feature_app.command("list")
@admin_command
def feature_list(api: ConfigApiClient, as_json: AsJson = False) -> None:
    """Show every feature flag: whether tokenrevoke implements it, and its state. The
    implemented ones come first; the others are Janssen's, stored but without effect here."""
    states = flag_states(api.feature_flags())
    if as_json:
        print_json(
            {
                s.flag.value: {
                    "configured": s.configured,
                    "implemented": s.implemented,
                    "enabled": s.enabled,
                    "state": s.state,
                }
                for s in states
            }
        )
        return
    grid = table("feature flag", "implemented here", "state")
    for s in states:
        colour = ("green" if s.enabled else "red") if s.implemented else "dim"
        grid.add_row(
            s.flag.value, "yes" if s.implemented else "no", f"[{colour}]{s.state}[/{colour}]"
        )
    console.print(grid)


def _set_flag(api: ConfigApiClient, name: str, enabled: bool) -> None:
    try:
        flag = parse_flag(name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    flags = toggle_flag(api.feature_flags(), flag, enabled)
    api.set_property("featureFlags", flags)
    state = FlagState(flag, enabled)
    if state.implemented:
        console.print(f"{flag.value} {state.state}")
    else:  # stored for Janssen's sake; never reported as enabled
        console.print(
            f"{flag.value} configured {'on' if enabled else 'off'}: tokenrevoke does not "
            "implement it, so this has no effect here"
        )


@feature_app.command("enable")
@admin_command
def feature_enable(api: ConfigApiClient, name: str) -> None:
    """Enable a feature flag (for example REVOKE_TOKEN). Janssen's flags that tokenrevoke
    does not implement are stored too, and said to have no effect."""
    _set_flag(api, name, True)


@feature_app.command("disable")
@admin_command
def feature_disable(api: ConfigApiClient, name: str) -> None:
    """Disable a feature flag (for example REVOKE_TOKEN)."""
    _set_flag(api, name, False)
