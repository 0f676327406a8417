"""Creating and managing clients (Janssen's ClientsResource): the rules of create, replace,
patch and delete; the JSON lives in client_json.py."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from tokenrevoke.configapi.client_json import (
    ClientError,
    ScopeNames,
    client_from_json,
    client_json,
    patch_base,
)
from tokenrevoke.configapi.errors import bad_request, not_found
from tokenrevoke.configapi.janssen_schema import GRANT_TYPES
from tokenrevoke.configapi.outbound import check_outbound_url
from tokenrevoke.configapi.security import Caller, check_client_write
from tokenrevoke.crypto import SecretBox, new_id, new_secret
from tokenrevoke.model import AuthMethod, Client
from tokenrevoke.model.client import SECRET_METHODS
from tokenrevoke.model.config import PROPERTIES
from tokenrevoke.model.scope_ids import CONFIG_API_SCOPES
from tokenrevoke.oauth.revoking import Actor, MetricPath, Reason, client_tokens, run
from tokenrevoke.store.base import Store

__all__ = ["ClientError", "Clients", "client_json", "delete_client"]

# The default of the property clientSecretMinimumLength, for callers without the config.
SECRET_MIN_LENGTH: int = PROPERTIES["clientSecretMinimumLength"][1]


def set_secret(
    client: Client, box: SecretBox, secret: str, min_length: int = SECRET_MIN_LENGTH
) -> Client:
    if len(secret) < min_length:
        raise ClientError(
            f"a client secret must be at least {min_length} characters "
            "(property clientSecretMinimumLength)"
        )
    return dataclasses.replace(
        client,
        secret_hash=box.hash_secret(secret),
        # Kept recoverable only where client_secret_jwt needs the raw value for HMAC.
        secret_encrypted=box.encrypt(secret, f"client-secret:{client.client_id}")
        if client.auth_method is AuthMethod.CLIENT_SECRET_JWT
        else None,
    )


def validate(client: Client) -> None:
    unknown = set(client.grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ClientError(f"unknown grant types: {sorted(unknown)}")
    if client.auth_method is AuthMethod.TLS_CLIENT_AUTH and not client.tls_subject_dn:
        raise ClientError("tls_client_auth needs a TLS subject DN")
    if client.auth_method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH and not client.jwks:
        raise ClientError("self_signed_tls_client_auth needs jwks with x5c certificates")
    if client.auth_method is AuthMethod.PRIVATE_KEY_JWT and not (client.jwks or client.jwks_uri):
        raise ClientError("private_key_jwt needs jwks or a jwks_uri")
    if client.is_public and "client_credentials" in client.grant_types:
        raise ClientError("a public client cannot use client_credentials")


async def create_client(
    store: Store,
    box: SecretBox,
    client: Client,
    secret: str | None = None,
    min_length: int = SECRET_MIN_LENGTH,
) -> tuple[Client, str | None]:
    """Store a new client; returns it with its secret (generated unless given), which is
    shown this once and never stored in the clear."""
    if not client.client_id:
        client = dataclasses.replace(client, client_id=new_id())
    if await store.get_client(client.client_id) is not None:
        raise ClientError(f"client {client.client_id} already exists")
    validate(client)
    client = dataclasses.replace(client, created_at=int(time.time()))
    if client.auth_method in SECRET_METHODS:
        secret = secret or new_secret()
        client = set_secret(client, box, secret, min_length)
    else:
        secret = None
    await store.save_client(client)
    return client, secret


async def delete_client(store: Store, client_id: str, actor: str) -> bool:
    """Delete a client and revoke every token it holds. False (and no audit record) when
    there is no such client. The row goes first: from then on no token of the client can
    be issued (`Store.issue_tokens`), so the revocation that follows finds them all."""
    if not await store.delete_client(client_id):
        return False
    plan = client_tokens(client_id, actor, Reason.CLIENT_DELETED, path=MetricPath.CLIENT_DELETE)
    await run(store, plan, int(time.time()))
    return True


async def ensure_admin_client(
    store: Store, box: SecretBox, client_id: str | None, secret: str | None
) -> tuple[Client, str | None, bool]:
    """The config-API admin client. Created when missing (returns created=True and the
    secret); an explicit id and secret fix both, for automation and tests."""
    if client_id:
        existing = await store.get_client(client_id)
        if existing is not None:
            if secret and not box.verify_secret(secret, existing.secret_hash):
                existing = set_secret(existing, box, secret)
                await store.save_client(existing)
            return existing, None, False
    elif any(c.client_name == "tokenrevoke-admin" for c in await store.list_clients()):
        admin = next(c for c in await store.list_clients() if c.client_name == "tokenrevoke-admin")
        return admin, None, False
    admin = Client(
        client_id=client_id or new_id(),
        client_name="tokenrevoke-admin",
        grant_types=["client_credentials"],
        scopes=list(CONFIG_API_SCOPES),
        auth_method=AuthMethod.CLIENT_SECRET_BASIC,
    )
    created, raw = await create_client(store, box, admin, secret)
    return created, raw, True


async def scope_names(store: Store) -> ScopeNames:
    return ScopeNames.of(await store.list_scopes())


def _secret(data: Any) -> str | None:
    secret = data.get("clientSecret") if isinstance(data, dict) else None
    if secret is not None and not isinstance(secret, str):
        raise bad_request("clientSecret must be a string")
    return secret or None


@dataclasses.dataclass
class Clients:
    """Clients as a config-API resource (configapi/resources.py), for one caller: no
    escalation (configapi/security.py), no jwksUri inside (configapi/outbound.py) unless
    `allow_private`, secrets at least `min_length` long."""

    store: Store
    box: SecretBox
    min_length: int
    caller: Caller
    allow_private: bool
    noun = "client"
    fields = ("inum", "clientName", "displayName", "tokenEndpointAuthMethod", "disabled")
    searched = ("inum", "clientName", "displayName")
    _names: ScopeNames | None = None

    async def names(self) -> ScopeNames:
        if self._names is None:
            self._names = await scope_names(self.store)
        return self._names

    async def load(self, key: str) -> Client:
        client = await self.store.get_client(key)
        if client is None:
            raise not_found(f"no client {key}")
        return client

    async def items(self, kind: str | None) -> list[Client]:
        return await self.store.list_clients()

    def key(self, item: Client) -> str:
        return item.client_id

    def fresh(self, data: Any) -> Any:
        return data

    async def from_json(self, data: Any, base: Client | None) -> Client:
        return client_from_json(data, base, await self.names())

    async def to_json(self, item: Client) -> dict[str, Any]:
        return client_json(item, await self.names())

    async def patch_base(self, item: Client) -> dict[str, Any]:
        return patch_base(item, await self.names())

    async def _guard(self, existing: Client | None, client: Client) -> None:
        check_client_write(self.caller, existing, client)
        if client.jwks_uri and (existing is None or existing.jwks_uri != client.jwks_uri):
            await check_outbound_url(client.jwks_uri, "jwksUri", self.allow_private)

    async def save(self, item: Client, existing: Client | None, data: Any) -> dict[str, Any]:
        """A new client's JSON holds its secret (generated unless given) this once; a
        replaced one keeps its secret unless `data` gives a new one."""
        if existing is None:
            await self._guard(None, item)
            created, secret = await create_client(
                self.store, self.box, item, _secret(data), self.min_length
            )
            out = await self.to_json(created)
            if secret:
                out["clientSecret"] = secret
            return out
        given = _secret(data)
        validate(item)
        if given:
            item = set_secret(item, self.box, given, self.min_length)
        elif item.auth_method is AuthMethod.CLIENT_SECRET_JWT and not item.secret_encrypted:
            raise bad_request("client_secret_jwt needs a clientSecret to be set")
        await self._guard(existing, item)
        await self.store.save_client(item)
        return await self.to_json(item)

    async def delete(self, key: str) -> bool:
        return await delete_client(self.store, key, Actor.ADMIN.of(self.caller.client_id))
