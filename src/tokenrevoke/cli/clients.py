"""`tokenrevoke client` and `tokenrevoke scope`, through the config API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient
from tokenrevoke.cli.common import (
    GAP,
    AsJson,
    all_entries,
    console,
    fail,
    line_table,
    print_fields,
    print_json,
    share_width,
    table,
)
from tokenrevoke.cli.connection import admin_command
from tokenrevoke.model import AuthMethod, Client, ScopeType

client_app = typer.Typer(help="Manage clients (config API).", no_args_is_help=True)
scope_app = typer.Typer(help="Manage scopes (config API).", no_args_is_help=True)
MIN_CUT = 12  # a column cut narrower than this says too little: `client list` drops it


# -- clients ------------------------------------------------------------------------------
@client_app.command("list")
@admin_command
def client_list(
    api: ConfigApiClient,
    pattern: Annotated[str, typer.Option(help="Substring of the id or name.")] = "",
    as_json: AsJson = False,
) -> None:
    """List clients."""
    clients = all_entries(lambda start: api.list_clients(pattern, 200, start))
    if as_json:
        print_json(clients)
        return
    rows = [
        (
            c.get("inum", ""),
            c.get("clientName") or "",
            c.get("tokenEndpointAuthMethod", ""),
            ",".join(c.get("grantTypes") or []),
            str(len(c.get("scopes") or [])),
            "disabled" if c.get("disabled") else "enabled",
        )
        for c in clients
    ]
    console.print(_client_grid(rows, console.width), highlight=False)


def _client_grid(rows: Sequence[tuple[str, ...]], width: int) -> Table:
    """One line per client within `width`: the id whole (it is what the other commands
    take); name, auth method and grant types cut with `…` when they do not fit, and the
    auth method, then the grant types, left out (`client show` has them) rather than cut
    to a few letters."""
    names = ("client id", "name", "auth method", "grant types", "scopes", "status")
    wanted = [max([len(n), *(len(row[i]) for row in rows)]) for i, n in enumerate(names)]
    for shown in ((0, 1, 2, 3, 4, 5), (0, 1, 3, 4, 5), (0, 1, 4, 5)):
        flexible = [i for i in shown if i in (1, 2, 3)]
        whole = sum(wanted[i] for i in shown if i not in flexible)
        room = width - whole - GAP * (len(shown) - 1)
        shares = dict(zip(flexible, share_width([wanted[i] for i in flexible], room), strict=True))
        if all(shares[i] >= min(wanted[i], MIN_CUT) for i in flexible):
            break
    grid = line_table([names[i] for i in shown], [shares.get(i, wanted[i]) for i in shown])
    for row in rows:
        grid.add_row(*(escape(row[i]) for i in shown))
    return grid


@client_app.command("show")
@admin_command
def client_show(api: ConfigApiClient, inum: str, as_json: AsJson = False) -> None:
    """Show one client (never its secret)."""
    client = api.get_client(inum)
    if as_json:
        print_json(client)  # as the server answers: scopes by DN, as Janssen's
        return
    shown = dict(client)
    if client.get("scopes"):
        # Scopes by id, readable (the DN where the caller may not read scopes).
        try:
            ids = api.scope_ids_by_dn()
        except ApiClientError:
            ids = {}
        shown["scopes"] = [ids.get(s, s) for s in client["scopes"]]
    print_fields(shown.items())


def _jwks(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        jwks = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"--jwks-file {path}: {exc}") from None
    if not isinstance(jwks, dict):
        raise fail(f'--jwks-file {path}: must be a JWK set {{"keys": [...]}}')
    return jwks


@client_app.command("create")
@admin_command
def client_create(
    api: ConfigApiClient,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    client_id: Annotated[str | None, typer.Option(help="Fix the id (default: random).")] = None,
    secret: Annotated[str | None, typer.Option(help="Fix the secret (default: random).")] = None,
    grant_type: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="A scope id or DN (inum=...,ou=scopes,o=jans). Repeatable."),
    ] = None,
    auth_method: Annotated[
        AuthMethod, typer.Option(help="tokenEndpointAuthMethod.")
    ] = AuthMethod.CLIENT_SECRET_BASIC,
    jwks_file: Annotated[Path | None, typer.Option(help="JWKS JSON file.")] = None,
    jwks_uri: Annotated[str | None, typer.Option()] = None,
    authorized_origin: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="Where sign-in returns (exact match; docs/sign-in.md). Repeatable."),
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="Where /end_session may return (exact match). Repeatable."),
    ] = None,
    access_token_as_jwt: Annotated[bool, typer.Option()] = False,
    access_token_lifetime: Annotated[int | None, typer.Option()] = None,
    refresh_token_lifetime: Annotated[int | None, typer.Option()] = None,
    tls_subject_dn: Annotated[str | None, typer.Option(help="For tls_client_auth.")] = None,
    tls_bound_tokens: Annotated[
        bool, typer.Option(help="Bind access tokens to the client certificate.")
    ] = False,
    refresh_token_reuse_detection: Annotated[
        bool | None,
        typer.Option(
            "--refresh-token-reuse-detection/--no-refresh-token-reuse-detection",
            help="Override refreshTokenReuseDetection (default: follow the property).",
        ),
    ] = None,
    refresh_token_reuse_grace_seconds: Annotated[
        int | None,
        typer.Option(help="Override refreshTokenReuseGraceSeconds (default: the property)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create a client; its secret is printed this once."""
    client = Client(
        client_id=client_id or "",
        client_name=name,
        grant_types=grant_type or ["client_credentials"],
        scopes=scope or [],
        auth_method=auth_method,
        jwks=_jwks(jwks_file),
        jwks_uri=jwks_uri,
        authorized_origins=authorized_origin or [],
        access_token_as_jwt=access_token_as_jwt,
        access_token_lifetime=access_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
        tls_subject_dn=tls_subject_dn,
        tls_bound_tokens=tls_bound_tokens,
        refresh_token_reuse_detection=refresh_token_reuse_detection,
        refresh_token_reuse_grace_seconds=refresh_token_reuse_grace_seconds,
    )
    from tokenrevoke.configapi.client_json import client_json

    # Janssen's client JSON, as the API takes it (scopes as ids: the server accepts ids or
    # DNs); the server picks the id unless fixed.
    document = {k: v for k, v in client_json(client).items() if k not in ("dn", "baseDn")}
    if not client_id:
        del document["inum"]
    if secret:
        document["clientSecret"] = secret
    if redirect_uri:
        document["redirectUris"] = redirect_uri
    if post_logout_redirect_uri:
        document["postLogoutRedirectUris"] = post_logout_redirect_uri
    created = api.create_client(document)
    if as_json:
        print_json(created)
        return
    console.print(f"client id:     {created['inum']}")
    if created.get("clientSecret"):
        console.print(
            f"client secret: {created['clientSecret']}  [yellow](shown only this once)[/yellow]"
        )


@client_app.command("delete")
@admin_command
def client_delete(api: ConfigApiClient, inum: str) -> None:
    """Delete a client and revoke all its tokens."""
    api.delete_client(inum)
    console.print(f"deleted client {inum}; its tokens are revoked")


def _set_disabled(api: ConfigApiClient, inum: str, disabled: bool) -> None:
    api.patch_client(inum, [{"op": "replace", "path": "/disabled", "value": disabled}])
    console.print(f"client {inum} {'disabled' if disabled else 'enabled'}")


@client_app.command("enable")
@admin_command
def client_enable(api: ConfigApiClient, inum: str) -> None:
    """Enable a client."""
    _set_disabled(api, inum, False)


@client_app.command("disable")
@admin_command
def client_disable(api: ConfigApiClient, inum: str) -> None:
    """Disable a client: it can no longer authenticate (its tokens are kept)."""
    _set_disabled(api, inum, True)


# -- scopes -------------------------------------------------------------------------------
@scope_app.command("list")
@admin_command
def scope_list(
    api: ConfigApiClient,
    pattern: Annotated[str, typer.Option(help="Substring of the id or description.")] = "",
    scope_type: Annotated[ScopeType | None, typer.Option("--type", help="Only this type.")] = None,
    as_json: AsJson = False,
) -> None:
    """List scopes."""
    kind = scope_type.value if scope_type else ""
    scopes = all_entries(lambda start: api.list_scopes(pattern, 200, start, kind))
    if as_json:
        print_json(scopes)
        return
    grid = table("inum", "id", "type", "default", "description")
    for s in scopes:
        grid.add_row(
            s.get("inum", ""),
            s.get("id", ""),
            s.get("scopeType", ""),
            "yes" if s.get("defaultScope") else "no",
            s.get("description") or "",
        )
    console.print(grid)


@scope_app.command("create")
@admin_command
def scope_create(
    api: ConfigApiClient,
    scope_id: Annotated[str, typer.Option("--id", help="The scope value clients request.")],
    display_name: Annotated[str, typer.Option(help="Default: the id.")] = "",
    description: Annotated[str, typer.Option()] = "",
    scope_type: Annotated[ScopeType, typer.Option("--type")] = ScopeType.OAUTH,
    default_scope: Annotated[bool, typer.Option("--default-scope")] = False,
    as_json: AsJson = False,
) -> None:
    """Create a scope."""
    created = api.create_scope(
        {
            "id": scope_id,
            "displayName": display_name or scope_id,
            "description": description,
            "scopeType": scope_type.value,
            "defaultScope": default_scope,
        }
    )
    if as_json:
        print_json(created)
    else:
        console.print(f"created scope {created['id']} (inum {created['inum']})")


@scope_app.command("delete")
@admin_command
def scope_delete(
    api: ConfigApiClient, key: Annotated[str, typer.Argument(help="The scope's inum or id.")]
) -> None:
    """Delete a scope (by inum or id)."""
    scopes = all_entries(lambda start: api.list_scopes("", 200, start))
    found = [s for s in scopes if s.get("inum") == key] or [s for s in scopes if s.get("id") == key]
    if not found:
        raise fail(f"no scope {key!r}")
    if len(found) > 1:
        raise fail(f"several scopes have the id {key!r}; give the inum")
    api.delete_scope(found[0]["inum"])
    console.print(f"deleted scope {found[0]['id']} (inum {found[0]['inum']})")
