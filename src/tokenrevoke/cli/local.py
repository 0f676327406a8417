"""Admin commands that work on the store directly (until the config API takes them over)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from argon2 import PasswordHasher
from rich.table import Table

from tokenrevoke.cli.common import (
    DEFAULT_DATA_DIR,
    AsJson,
    DatabaseUrl,
    DataDir,
    console,
    fail,
    print_json,
    run_with_store,
)
from tokenrevoke.configapi import clients as client_admin
from tokenrevoke.configapi import config as config_admin
from tokenrevoke.crypto import new_id
from tokenrevoke.model import AuthMethod, Client, ConfigError, FeatureFlag, ScriptDefinition, User
from tokenrevoke.model.config import parse_flag, parse_property_value
from tokenrevoke.scripts import ScriptError, validate_revoke_script

client_app = typer.Typer(help="Manage clients (local store).", no_args_is_help=True)
user_app = typer.Typer(
    help="Manage users for the password grant (local store).", no_args_is_help=True
)
script_app = typer.Typer(
    help="Manage revoke_token interception scripts (local store).", no_args_is_help=True
)
config_app = typer.Typer(
    help="Read and change auth-server properties (local store).", no_args_is_help=True
)
feature_app = typer.Typer(
    help="List, enable and disable feature flags (local store).", no_args_is_help=True
)


# -- clients ------------------------------------------------------------------------------
@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    client_id: Annotated[str | None, typer.Option(help="Fix the id (default: random).")] = None,
    secret: Annotated[str | None, typer.Option(help="Fix the secret (default: random).")] = None,
    grant_type: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    auth_method: Annotated[
        AuthMethod, typer.Option(help="tokenEndpointAuthMethod.")
    ] = AuthMethod.CLIENT_SECRET_BASIC,
    jwks_file: Annotated[Path | None, typer.Option(help="JWKS JSON file.")] = None,
    jwks_uri: Annotated[str | None, typer.Option()] = None,
    authorized_origin: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    access_token_as_jwt: Annotated[bool, typer.Option()] = False,
    access_token_lifetime: Annotated[int | None, typer.Option()] = None,
    refresh_token_lifetime: Annotated[int | None, typer.Option()] = None,
    tls_subject_dn: Annotated[str | None, typer.Option(help="For tls_client_auth.")] = None,
    tls_bound_tokens: Annotated[
        bool, typer.Option(help="Bind access tokens to the client certificate.")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Create a client; its secret is printed this once."""
    jwks = json.loads(jwks_file.read_text()) if jwks_file else None
    client = Client(
        client_id=client_id or "",
        client_name=name,
        grant_types=grant_type or ["client_credentials"],
        scopes=scope or [],
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        authorized_origins=authorized_origin or [],
        access_token_as_jwt=access_token_as_jwt,
        access_token_lifetime=access_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
        tls_subject_dn=tls_subject_dn,
        tls_bound_tokens=tls_bound_tokens,
    )
    try:
        created, raw = run_with_store(
            data_dir,
            database_url,
            lambda s, box, _: client_admin.create_client(s, box, client, secret),
        )
    except client_admin.ClientError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(client_admin.describe(created, raw))
        return
    console.print(f"client id:     {created.client_id}")
    if raw:
        console.print(f"client secret: {raw}  [yellow](shown only this once)[/yellow]")


@client_app.command("list")
def client_list(
    data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None, as_json: AsJson = False
) -> None:
    """List clients."""
    found = run_with_store(data_dir, database_url, lambda s, _b, _c: s.list_clients())
    if as_json:
        print_json([client_admin.client_json(c) for c in found])
        return
    table = Table("client id", "name", "auth method", "grant types", "scopes")
    for c in found:
        table.add_row(
            c.client_id,
            c.client_name,
            c.auth_method.value,
            " ".join(c.grant_types),
            str(len(c.scopes)),
        )
    console.print(table)


@client_app.command("delete")
def client_delete(
    client_id: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Delete a client and revoke all its tokens."""
    deleted = run_with_store(
        data_dir, database_url, lambda s, _b, _c: client_admin.delete_client(s, client_id, "cli")
    )
    if not deleted:
        raise fail(f"no client {client_id}")
    console.print(f"deleted client {client_id}; its tokens are revoked")


# -- users --------------------------------------------------------------------------------
@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option()],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="TOKENREVOKE_USER_PASSWORD",
        ),
    ],
    email: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Create a user (password stored as an argon2 hash)."""

    async def work(store, _box, _settings):  # type: ignore[no-untyped-def]
        if await store.get_user_by_uid(username) is not None:
            raise fail(f"user {username} already exists")
        user = User(
            inum=new_id(), uid=username, password_hash=PasswordHasher().hash(password), email=email
        )
        await store.save_user(user)
        return user

    user: User = run_with_store(data_dir, database_url, work)
    if as_json:
        print_json({"inum": user.inum, "uid": user.uid, "mail": user.email})
    else:
        console.print(f"created user {user.uid} (inum {user.inum})")


# -- scripts ------------------------------------------------------------------------------
def _find_script(scripts: list[ScriptDefinition], key: str) -> ScriptDefinition:
    for script in scripts:
        if key in (script.inum, script.name):
            return script
    raise fail(f"no script {key!r}")


@script_app.command("add")
def script_add(
    name: Annotated[str, typer.Option()],
    file: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Python source.")],
    level: Annotated[int, typer.Option(help="Order: lower runs first.")] = 100,
    enabled: Annotated[bool, typer.Option()] = True,
    attribute: Annotated[list[str] | None, typer.Option(help="name=value, repeatable.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a revoke_token script (validated before it is stored)."""
    source = file.read_text()
    try:
        validate_revoke_script(source)
    except ScriptError as exc:
        raise fail(f"script rejected: {exc}") from None
    attrs = dict(a.split("=", 1) for a in attribute or [] if "=" in a)
    script = ScriptDefinition(
        inum=new_id(),
        name=name,
        source=source,
        enabled=enabled,
        level=level,
        configuration_attributes=attrs,
    )
    saved = run_with_store(data_dir, database_url, lambda s, _b, _c: s.save_script(script))
    console.print(f"added script {saved.name} (inum {saved.inum})")


@script_app.command("list")
def script_list(
    data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None, as_json: AsJson = False
) -> None:
    """List scripts in the order they run."""
    found = run_with_store(data_dir, database_url, lambda s, _b, _c: s.list_scripts())
    if as_json:
        print_json(
            [{k: v for k, v in dataclasses.asdict(s).items() if k != "source"} for s in found]
        )
        return
    table = Table("inum", "name", "type", "level", "enabled")
    for s in found:
        table.add_row(s.inum, s.name, s.script_type, str(s.level), "yes" if s.enabled else "no")
    console.print(table)


def _toggle(key: str, enabled: bool, data_dir: Path, database_url: str | None) -> None:
    async def work(store, _box, _settings):  # type: ignore[no-untyped-def]
        script = _find_script(await store.list_scripts(), key)
        return await store.save_script(dataclasses.replace(script, enabled=enabled))

    saved = run_with_store(data_dir, database_url, work)
    console.print(f"script {saved.name} {'enabled' if enabled else 'disabled'}")


@script_app.command("enable")
def script_enable(
    key: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Enable a script (by inum or name)."""
    _toggle(key, True, data_dir, database_url)


@script_app.command("disable")
def script_disable(
    key: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Disable a script (by inum or name)."""
    _toggle(key, False, data_dir, database_url)


@script_app.command("remove")
def script_remove(
    key: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Remove a script (by inum or name)."""

    async def work(store, _box, _settings):  # type: ignore[no-untyped-def]
        script = _find_script(await store.list_scripts(), key)
        await store.delete_script(script.inum)
        return script

    removed = run_with_store(data_dir, database_url, work)
    console.print(f"removed script {removed.name}")


# -- properties and feature flags ---------------------------------------------------------
@config_app.command("get")
def config_get(
    name: Annotated[str | None, typer.Argument()] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the effective properties (or one of them) as JSON."""
    cfg = run_with_store(
        data_dir, database_url, lambda s, _b, st: config_admin.effective(s, st.base_url)
    )
    if name is None:
        print_json(dict(cfg.values))
    elif name in cfg.values:
        print_json(cfg.values[name])
    else:
        raise fail(f"unknown property {name!r}")


@config_app.command("set")
def config_set(
    name: str, value: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Set one property; VALUE is JSON (lists may be comma-separated). Takes effect live."""
    try:
        parsed: Any = parse_property_value(name, value)
        run_with_store(
            data_dir, database_url, lambda s, _b, _c: config_admin.set_properties(s, {name: parsed})
        )
    except ConfigError as exc:
        raise fail(str(exc)) from None
    console.print(f"{name} = {json.dumps(parsed)}")


@feature_app.command("list")
def feature_list(
    data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None, as_json: AsJson = False
) -> None:
    """Show every feature flag and whether it is enabled."""
    cfg = run_with_store(
        data_dir, database_url, lambda s, _b, st: config_admin.effective(s, st.base_url)
    )
    state = {f.value: cfg.enabled(f) for f in FeatureFlag}
    if as_json:
        print_json(state)
        return
    table = Table("feature flag", "enabled")
    for flag, on in state.items():
        table.add_row(flag, "[green]yes[/green]" if on else "[red]no[/red]")
    console.print(table)


def _set_flag(name: str, enabled: bool, data_dir: Path, database_url: str | None) -> None:
    try:
        flag = parse_flag(name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    run_with_store(
        data_dir,
        database_url,
        lambda s, _b, st: config_admin.set_feature(s, st.base_url, flag, enabled),
    )
    console.print(f"{flag.value} {'enabled' if enabled else 'disabled'}")


@feature_app.command("enable")
def feature_enable(
    name: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Enable a feature flag (for example REVOKE_TOKEN)."""
    _set_flag(name, True, data_dir, database_url)


@feature_app.command("disable")
def feature_disable(
    name: str, data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None
) -> None:
    """Disable a feature flag (for example REVOKE_TOKEN)."""
    _set_flag(name, False, data_dir, database_url)
