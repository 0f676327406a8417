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
from tokenrevoke.configapi.config import apply_json_patch
from tokenrevoke.configapi.errors import bad_request, not_found
from tokenrevoke.configapi.janssen_schema import GRANT_TYPES
from tokenrevoke.configapi.outbound import check_outbound_url
from tokenrevoke.configapi.security import Caller, check_client_write
from tokenrevoke.crypto import SecretBox, new_id, new_secret
from tokenrevoke.model import AuditEvent, AuthMethod, Client
from tokenrevoke.model.client import SECRET_METHODS
from tokenrevoke.model.config import PROPERTIES
from tokenrevoke.model.scopes import CONFIG_API_SCOPES
from tokenrevoke.observability.metrics import revocation
from tokenrevoke.store.base import RevocationTarget, Store

__all__ = ["ClientError", "client_json", "create", "delete_client", "patch", "replace"]

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
    revoked = await store.revoke(
        RevocationTarget.client(client_id),
        int(time.time()),
        AuditEvent("revoke_all", actor, "client_deleted", client_id),
    )
    revocation("client_delete", "revoked" if revoked else "no_match", revoked)
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


async def _existing(store: Store, inum: str) -> Client:
    client = await store.get_client(inum)
    if client is None:
        raise not_found(f"no client {inum}")
    return client


def _secret(data: Any) -> str | None:
    secret = data.get("clientSecret") if isinstance(data, dict) else None
    if secret is not None and not isinstance(secret, str):
        raise bad_request("clientSecret must be a string")
    return secret or None


async def list_json(store: Store) -> list[dict[str, Any]]:
    names = await scope_names(store)
    return [client_json(c, names) for c in await store.list_clients()]


async def get(store: Store, inum: str) -> dict[str, Any]:
    return client_json(await _existing(store, inum), await scope_names(store))


async def _guard(
    caller: Caller, existing: Client | None, client: Client, allow_private: bool
) -> None:
    """No escalation (configapi/security.py) and no jwksUri inside (configapi/outbound.py)."""
    check_client_write(caller, existing, client)
    if client.jwks_uri and (existing is None or existing.jwks_uri != client.jwks_uri):
        await check_outbound_url(client.jwks_uri, "jwksUri", allow_private)


async def create(
    store: Store, box: SecretBox, data: Any, min_length: int, caller: Caller,
    allow_private: bool,
) -> dict[str, Any]:  # fmt: skip
    """POST: the new client's JSON, with its secret (generated unless given) this once."""
    names = await scope_names(store)
    client = client_from_json(data, None, names)
    await _guard(caller, None, client, allow_private)
    created, secret = await create_client(store, box, client, _secret(data), min_length)
    out = client_json(created, names)
    if secret:
        out["clientSecret"] = secret
    return out


async def replace(
    store: Store, box: SecretBox, data: Any, min_length: int, caller: Caller,
    allow_private: bool,
) -> dict[str, Any]:  # fmt: skip
    """PUT: the body names the client (`inum`) and replaces it whole; a secret is kept
    unless the body gives a new one."""
    inum = data.get("inum") if isinstance(data, dict) else None
    if not isinstance(inum, str) or not inum:
        raise bad_request("inum is required")
    names = await scope_names(store)
    existing = await _existing(store, inum)
    updated = client_from_json(data, existing, names)
    return await _save(
        store, box, existing, updated, _secret(data), min_length, names, caller, allow_private
    )


async def patch(
    store: Store, box: SecretBox, inum: str, operations: Any, min_length: int, caller: Caller,
    allow_private: bool,
) -> dict[str, Any]:  # fmt: skip
    """PATCH: RFC 6902 over the client's JSON (as GET returns it)."""
    existing = await _existing(store, inum)
    names = await scope_names(store)
    document = apply_json_patch(patch_base(existing, names), operations)
    if document.get("inum") != existing.client_id:
        raise bad_request("inum cannot be changed")
    updated = client_from_json(document, existing, names)
    return await _save(
        store, box, existing, updated, _secret(document), min_length, names, caller,
        allow_private,
    )  # fmt: skip


async def _save(
    store: Store,
    box: SecretBox,
    existing: Client,
    client: Client,
    secret: str | None,
    min_length: int,
    names: ScopeNames,
    caller: Caller,
    allow_private: bool,
) -> dict[str, Any]:
    validate(client)
    if secret:
        client = set_secret(client, box, secret, min_length)
    elif client.auth_method is AuthMethod.CLIENT_SECRET_JWT and not client.secret_encrypted:
        raise bad_request("client_secret_jwt needs a clientSecret to be set")
    await _guard(caller, existing, client, allow_private)
    await store.save_client(client)
    return client_json(client, names)
