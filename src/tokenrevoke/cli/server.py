"""`tokenrevoke serve` and `tokenrevoke init`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from tokenrevoke.cli.common import DEFAULT_DATA_DIR, DatabaseUrl, DataDir, console, run_with_store
from tokenrevoke.configapi.clients import ensure_admin_client
from tokenrevoke.settings import Settings

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


def initialise(settings: Settings, admin_id: str | None, admin_secret: str | None) -> None:
    """Create the store and the admin client if missing; print a new secret once."""

    async def work(store, box, _settings):  # type: ignore[no-untyped-def]
        return await ensure_admin_client(store, box, admin_id, admin_secret)

    client, secret, created = run_with_store(settings.data_dir, settings.database_url, work)
    if created:
        console.print("[bold]Created the admin client[/bold] (config API, every scope):")
        console.print(f"  client id:     {client.client_id}")
        if secret and not admin_secret:
            console.print(f"  client secret: {secret}")
            console.print("  [yellow]The secret is shown only this once. Keep it safe.[/yellow]")


def init(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    admin_client_id: AdminId = None,
    admin_client_secret: AdminSecret = None,
) -> None:
    """Initialise the store and the admin client (idempotent)."""
    initialise(
        Settings(data_dir=data_dir, database_url=database_url), admin_client_id, admin_client_secret
    )


def serve(
    host: Annotated[str, typer.Option(envvar="TOKENREVOKE_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TOKENREVOKE_PORT")] = 8080,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
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
    log_level: Annotated[str, typer.Option(envvar="TOKENREVOKE_LOG_LEVEL")] = "info",
    admin_client_id: AdminId = None,
    admin_client_secret: AdminSecret = None,
) -> None:
    """Run the authorization server."""
    from tokenrevoke.web.serving import run

    if bool(tls_cert) != bool(tls_key):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    for proxy in trusted_proxy or []:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise typer.BadParameter(
                f"--trusted-proxy {proxy!r} is not an address or network"
            ) from None
    settings = Settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        issuer=issuer,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_client_ca=tls_client_ca,
        client_cert_header=client_cert_header,
        trusted_proxies=list(trusted_proxy or []),
        max_body_bytes=max_body_bytes,
        log_level=log_level,
    )
    initialise(settings, admin_client_id, admin_client_secret)
    console.print(
        f"tokenrevoke listening on {settings.scheme}://{host}:{port} (issuer {settings.base_url})"
    )
    run(settings)
