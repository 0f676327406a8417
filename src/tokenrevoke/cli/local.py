"""The admin commands that work on the store directly: users and the audit trail have no
config-API resource. Everything else goes through the config API (see `connection.py`)."""

from __future__ import annotations

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
from tokenrevoke.model import User

if TYPE_CHECKING:
    from tokenrevoke.settings import Settings
    from tokenrevoke.store import Store

user_app = typer.Typer(
    help="Manage users for the password grant (local store: run where the data is).",
    no_args_is_help=True,
)


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
    from argon2 import PasswordHasher

    from tokenrevoke.crypto import new_id

    async def work(store: Store, _box: object, _settings: Settings) -> User | None:
        if await store.get_user_by_uid(username) is not None:
            return None
        user = User(
            inum=new_id(), uid=username, password_hash=PasswordHasher().hash(password), email=email
        )
        await store.save_user(user)
        return user

    user = run_with_store(data_dir, database_url, work)
    if user is None:
        raise fail(f"user {username} already exists")
    if as_json:
        print_json({"inum": user.inum, "uid": user.uid, "mail": user.email})
    else:
        console.print(f"created user {user.uid} (inum {user.inum})")


def audit(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 50,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show the audit trail (local store): revocations and config-API writes, newest
    first (docs/security.md)."""

    async def work(store: Store, _box: object, _settings: Settings) -> list[dict[str, object]]:
        return await store.list_audit(limit)

    records = run_with_store(data_dir, database_url, work)
    if as_json:
        print_json(records)
        return
    for record in records:
        console.print(
            f"{record['id']}  {record['at']}  {record['actor']}  {record['action']}  "
            f"{record['reason']}  {record.get('clientId') or '-'}  {record['details']}",
            highlight=False,
            markup=False,
        )
