"""`tokenrevoke serve` and `tokenrevoke init`."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokenrevoke.cli.common import (
    DEFAULT_DATA_DIR,
    DatabaseUrl,
    DataDir,
    console,
    fail,
    run_with_store,
)
from tokenrevoke.model import ConfigError
from tokenrevoke.model.config import validate_document

if TYPE_CHECKING:
    from tokenrevoke.crypto import SecretBox
    from tokenrevoke.settings import Settings
    from tokenrevoke.store import Store

MIN_SECRET_LENGTH = 16  # configapi/clients.py set_secret's rule
AdminId = Annotated[
    str | None,
    typer.Option(
        "--admin-client-id", envvar="TOKENREVOKE_ADMIN_CLIENT_ID", help="Fix the admin client's id."
    ),
]
AdminSecret = Annotated[
    str | None,
    typer.Option(
        "--admin-client-secret",
        envvar="TOKENREVOKE_ADMIN_CLIENT_SECRET",
        help="Fix the admin client's secret (at least 16 characters).",
    ),
]


PropertiesFile = Annotated[
    Path | None,
    typer.Option(
        "--properties",
        envvar="TOKENREVOKE_PROPERTIES",
        dir_okay=False,
        help="JSON object of auth-server properties to apply at start (validated first; "
        "a bad file changes nothing).",
    ),
]


def read_properties(path: Path) -> dict[str, Any]:
    """A properties file: one JSON object, Janssen's property names; validated whole."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise fail(f"cannot read the properties file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise fail(f"the properties file {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise fail(f'the properties file {path} must hold a JSON object {{"name": value, ...}}')
    try:
        validate_document(document)
    except ConfigError as exc:
        raise fail(f"the properties file {path}: {exc}") from None
    return document


ADMIN_NAME = "tokenrevoke-admin"  # the name ensure_admin_client gives it


def initialise(
    settings: Settings,
    admin_id: str | None,
    admin_secret: str | None,
    properties: dict[str, Any] | None = None,
    *,
    quiet_if_unchanged: bool = False,
) -> list[str]:
    """Create the store and the admin client if missing; apply the properties, if any.
    Returns what was done, as lines for the operator (a new secret among them, to show
    once): `init` prints them at once, `serve` when it is up."""
    from tokenrevoke.configapi.clients import ClientError, ensure_admin_client
    from tokenrevoke.configapi.config import set_properties

    async def work(store: Store, box: SecretBox, _settings: Settings) -> list[str]:
        admins = [c.client_id for c in await store.list_clients() if c.client_name == ADMIN_NAME]
        existing = await store.get_client(admin_id) if admin_id else None
        reset = (
            existing is not None
            and admin_secret is not None
            and not box.verify_secret(admin_secret, existing.secret_hash)
        )
        try:
            client, secret, created = await ensure_admin_client(store, box, admin_id, admin_secret)
        except ClientError as exc:
            raise fail(f"--admin-client-secret: {exc}") from None
        if properties:
            await set_properties(store, properties, box)
        if quiet_if_unchanged and not (created or reset):
            return []
        return _admin_lines(client.client_id, secret, created, reset, admins, admin_secret)

    lines = run_with_store(settings.data_dir, settings.database_url, work)
    if properties:
        names = ", ".join(sorted(properties))
        lines.append(f"applied {len(properties)} properties: {names}")
    return lines


def _admin_lines(
    client_id: str,
    secret: str | None,
    created: bool,
    reset: bool,
    admins_before: list[str],
    given_secret: str | None,
) -> list[str]:
    if reset:
        return [
            f"Replaced the secret of the admin client {client_id} with --admin-client-secret "
            "(the old one no longer works)."
        ]
    if not created:
        return [
            f"The admin client {client_id} exists; its secret is unchanged (lost it? "
            "tokenrevoke admin reset-secret)."
        ]
    lines = ["[bold]Created the admin client[/bold] (config API, every scope):",
             f"  client id:     {client_id}"]  # fmt: skip
    if secret and not given_secret:
        lines.append(f"  client secret: {secret}")
        lines.append("  [yellow]The secret is shown only this once. Keep it safe.[/yellow]")
    if admins_before:
        lines.append(
            f"  note: this is an additional admin client; {', '.join(admins_before)} "
            "still exist and keep working"
        )
    return lines


def print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False)
    console.file.flush()  # a server's output is often a pipe or a file: now, not at exit


def init(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    admin_client_id: AdminId = None,
    admin_client_secret: AdminSecret = None,
    properties: PropertiesFile = None,
) -> None:
    """Initialise the store and the admin client (idempotent); apply --properties."""
    from tokenrevoke.settings import Settings

    check_admin_secret(admin_client_secret)
    document = read_properties(properties) if properties else None
    lines = initialise(
        Settings(data_dir=data_dir, database_url=database_url),
        admin_client_id,
        admin_client_secret,
        document,
    )
    print_lines(lines)


def check_admin_secret(secret: str | None) -> None:
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise fail(
            f"--admin-client-secret is {len(secret)} characters long: it must have at least "
            f"{MIN_SECRET_LENGTH} (or leave it out to have one generated)"
        )


def _apply_settings_file(ctx: typer.Context, settings: Any, path: Path) -> Any:
    """File values fill in whatever was left at its default on the command line and in
    the environment."""
    import dataclasses

    from tokenrevoke.settings import SettingsFileError, read_settings_file

    try:
        values = read_settings_file(path)
    except SettingsFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    option = {"trusted_proxies": "trusted_proxy"}
    chosen = {
        key: value for key, value in values.items() if _left_at_default(ctx, option.get(key, key))
    }
    return dataclasses.replace(settings, **chosen)


def _left_at_default(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is None or source.name == "DEFAULT"


def serve(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="TOKENREVOKE_CONFIG",
            help="TOML file of settings (option names with underscores); "
            "options and environment variables take precedence.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(envvar="TOKENREVOKE_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TOKENREVOKE_PORT")] = 8080,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            envvar="TOKENREVOKE_REDIS_URL",
            help="Optional Redis for instant change notices between nodes.",
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            envvar="TOKENREVOKE_ISSUER",
            help="Public base URL (default: derived from host and port).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(envvar="TOKENREVOKE_WORKERS", min=1)] = 1,
    tls_cert: Annotated[Path | None, typer.Option(envvar="TOKENREVOKE_TLS_CERT")] = None,
    tls_key: Annotated[Path | None, typer.Option(envvar="TOKENREVOKE_TLS_KEY")] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            envvar="TOKENREVOKE_TLS_CLIENT_CA",
            help="CA bundle for tls_client_auth client certificates.",
        ),
    ] = None,
    client_cert_header: Annotated[
        str | None,
        typer.Option(
            envvar="TOKENREVOKE_CLIENT_CERT_HEADER",
            help="Header carrying the client certificate from a TLS proxy.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            envvar="TOKENREVOKE_TRUSTED_PROXIES",
            help="Address or network of a trusted TLS proxy (repeatable).",
        ),
    ] = None,
    max_body_bytes: Annotated[int, typer.Option(envvar="TOKENREVOKE_MAX_BODY_BYTES")] = 1024 * 1024,
    request_read_timeout: Annotated[
        float,
        typer.Option(
            envvar="TOKENREVOKE_REQUEST_READ_TIMEOUT",
            min=0,
            help="Seconds a client has to send a whole request (headers and body), from "
            "connecting or from the request's first byte; then the connection is closed "
            "(0: no limit).",
        ),
    ] = 10.0,
    keep_alive_timeout: Annotated[
        float,
        typer.Option(
            envvar="TOKENREVOKE_KEEP_ALIVE_TIMEOUT",
            min=0.1,
            help="Seconds an idle connection is kept open between requests.",
        ),
    ] = 5.0,
    max_connections: Annotated[
        int,
        typer.Option(
            envvar="TOKENREVOKE_MAX_CONNECTIONS",
            min=1,
            help="Connections open at once (per worker); beyond, new ones are closed.",
        ),
    ] = 1000,
    log_level: Annotated[str, typer.Option(envvar="TOKENREVOKE_LOG_LEVEL")] = "info",
    log_format: Annotated[
        str,
        typer.Option(
            envvar="TOKENREVOKE_LOG_FORMAT",
            help="text, or json: one JSON object per line, with the request id.",
        ),
    ] = "text",
    access_log: Annotated[
        bool,
        typer.Option(
            envvar="TOKENREVOKE_ACCESS_LOG",
            help="Log one line per request (method, path, status, duration; never bodies, "
            "query strings or headers).",
        ),
    ] = False,
    metrics_allow: Annotated[
        list[str] | None,
        typer.Option(
            envvar="TOKENREVOKE_METRICS_ALLOW",
            help="Address or network allowed to read /metrics (repeatable; default: "
            "loopback; 'none': nobody).",
        ),
    ] = None,
    admin_client_id: AdminId = None,
    admin_client_secret: AdminSecret = None,
    properties: PropertiesFile = None,
) -> None:
    """Run the authorization server."""
    from tokenrevoke.settings import Settings
    from tokenrevoke.startup import bind_socket, check_tls
    from tokenrevoke.web.serving import run

    if bool(tls_cert) != bool(tls_key):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    settings = Settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        issuer=issuer,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_client_ca=tls_client_ca,
        client_cert_header=client_cert_header,
        trusted_proxies=list(trusted_proxy or []),
        max_body_bytes=max_body_bytes,
        request_read_timeout=request_read_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
        log_level=log_level,
        log_format=log_format,
        access_log=access_log,
    )
    if metrics_allow is not None:
        settings.metrics_allow = [] if metrics_allow == ["none"] else list(metrics_allow)
    if config is not None:
        settings = _apply_settings_file(ctx, settings, config)
    _check_settings(settings)
    check_admin_secret(admin_client_secret)
    document = read_properties(properties) if properties else None
    # Everything that can be checked is checked before anything is created, the socket
    # bound before anything is announced (startup.py).
    check_tls(settings)
    sock = bind_socket(settings)
    lines = initialise(
        settings, admin_client_id, admin_client_secret, document, quiet_if_unchanged=True
    )
    if settings.log_format == "text":  # in JSON, every line is a log record (uvicorn's say this)
        lines.append(
            f"tokenrevoke listening on {settings.scheme}://{settings.host}:{settings.port} "
            f"(issuer {settings.base_url})"
        )
    # The admin secret, shown once, is shown when the server answers: not above the
    # messages of a start that failed.
    announced: list[bool] = []

    def announce() -> None:
        print_lines(lines)
        announced.append(True)

    came_up = run(settings, sock, on_live=announce)
    if not announced and any("client secret:" in line for line in lines):
        print_lines(lines)  # the one chance to see a generated secret
    if not came_up:
        raise fail("the server stopped before it was up (see the messages above)")


def _check_settings(settings: Settings) -> None:
    """What the options' types cannot say (values from a settings file included)."""
    from tokenrevoke.observability.logs import FORMATS

    if settings.log_format not in FORMATS:
        raise typer.BadParameter(
            f"--log-format must be one of {', '.join(FORMATS)}, not {settings.log_format!r}"
        )
    if settings.request_read_timeout < 0 or settings.keep_alive_timeout <= 0:
        raise typer.BadParameter("the request read and keep-alive timeouts must be positive")
    if settings.max_connections < 1:
        raise typer.BadParameter("--max-connections must be at least 1")
    for option, networks in (("--trusted-proxy", settings.trusted_proxies),
                             ("--metrics-allow", settings.metrics_allow)):  # fmt: skip
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise typer.BadParameter(
                    f"{option} {network!r} is not an address or network"
                ) from None


def db_upgrade(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations (servers also do this when they start)."""
    from tokenrevoke.settings import Settings
    from tokenrevoke.store.factory import upgrade

    settings = Settings(data_dir=data_dir, database_url=database_url)
    applied = asyncio.run(upgrade(settings.store_url))
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("the schema is up to date")
