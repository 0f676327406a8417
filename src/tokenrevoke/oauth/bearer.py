"""What a presented bearer access token stands for: the one check behind every place that
accepts one (Janssen's /revoke as client authentication, introspection's Bearer caller,
the config API). Each caller words its own refusals."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import Client, TokenRecord, TokenType
from tokenrevoke.store.base import Store


@dataclass(frozen=True, slots=True)
class BearerOwner:
    token: TokenRecord  # a live access token
    client: Client | None  # its client; None when disabled or gone (the token is void)


async def bearer_owner(
    store: Store, clients: Callable[[str], Awaitable[Client | None]], token: str
) -> BearerOwner | None:
    """The live access token presented and its client; None when the text is no live
    access token (unknown, revoked, expired, or of another type). `clients` looks the
    client up (the runtime's cache): a token outlives nothing its client lost."""
    record = await store.get_token(sha256_hex(token)) if token else None
    if (
        record is None
        or record.token_type is not TokenType.ACCESS_TOKEN
        or not record.is_live(int(time.time()))
    ):
        return None
    client = await clients(record.client_id)
    return BearerOwner(record, None if client is None or client.disabled else client)


__all__ = ["BearerOwner", "bearer_owner"]
