"""`tokenrevoke admin reset-secret`: recovering the admin credential where the data is
(whoever can read the data directory or the database holds every secret anyway)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

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
from tokenrevoke.cli.server import ADMIN_NAME

if TYPE_CHECKING:
    from tokenrevoke.crypto import SecretBox
    from tokenrevoke.settings import Settings
    from tokenrevoke.store import Store

admin_app = typer.Typer(
    help="The admin client (local store: run where the data is).", no_args_is_help=True
)


@admin_app.command("reset-secret")
def reset_secret(
    admin_client_id: Annotated[
        str | None,
        typer.Option(
            "--admin-client-id",
            help="Which admin client (needed only when there are several).",
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Give the admin client a new secret, printed once; the old secret stops working and
    the config-API tokens issued with it are revoked."""
    from tokenrevoke.configapi.clients import set_secret
    from tokenrevoke.crypto import new_secret
    from tokenrevoke.oauth.revoking import Actor, Reason, client_tokens, run

    async def work(store: Store, box: SecretBox, _settings: Settings) -> tuple[str, str, int]:
        admins = [c for c in await store.list_clients() if c.client_name == ADMIN_NAME]
        if admin_client_id is not None:
            chosen = [c for c in admins if c.client_id == admin_client_id]
            if not chosen:
                known = ", ".join(c.client_id for c in admins) or "none"
                raise fail(f"no admin client {admin_client_id} (admin clients: {known})")
        elif not admins:
            raise fail("there is no admin client here: create one with `tokenrevoke init`")
        elif len(admins) > 1:
            ids = ", ".join(c.client_id for c in admins)
            raise fail(f"there are several admin clients ({ids}): name one (--admin-client-id)")
        else:
            chosen = admins
        secret = new_secret()
        client = set_secret(chosen[0], box, secret)
        await store.save_client(client)
        plan = client_tokens(client.client_id, Actor.SECRET_RESET, Reason.SECRET_RESET)
        revoked = await run(store, plan, int(time.time()))
        return client.client_id, secret, revoked

    client_id, secret, revoked = run_with_store(data_dir, database_url, work)
    if as_json:
        print_json({"inum": client_id, "clientSecret": secret, "revokedTokens": revoked})
        return
    console.print(f"New secret for the admin client {client_id}:", highlight=False)
    console.print(f"  client secret: {secret}", highlight=False)
    console.print(
        "  [yellow]Shown only this once. Keep it safe.[/yellow] The old secret no longer "
        f"works; {revoked} config-API token(s) issued with it were revoked.",
        highlight=False,
    )
