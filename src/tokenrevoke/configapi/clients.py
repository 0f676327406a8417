"""Creating and managing clients."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from tokenrevoke.crypto import SecretBox, new_id, new_secret
from tokenrevoke.model import AuditEvent, AuthMethod, Client
from tokenrevoke.model.client import SECRET_METHODS
from tokenrevoke.model.scopes import CONFIG_API_SCOPES
from tokenrevoke.store.base import RevocationTarget, Store

KNOWN_GRANTS = {"client_credentials", "password", "refresh_token", "authorization_code"}


class ClientError(ValueError):
    pass


def set_secret(client: Client, box: SecretBox, secret: str) -> Client:
    if len(secret) < 16:
        raise ClientError("a client secret must be at least 16 characters")
    return dataclasses.replace(
        client,
        secret_hash=box.hash_secret(secret),
        # Kept recoverable only where client_secret_jwt needs the raw value for HMAC.
        secret_encrypted=box.encrypt(secret, f"client-secret:{client.client_id}")
        if client.auth_method is AuthMethod.CLIENT_SECRET_JWT
        else None,
    )


def validate(client: Client) -> None:
    unknown = set(client.grant_types) - KNOWN_GRANTS
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
    store: Store, box: SecretBox, client: Client, secret: str | None = None
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
        client = set_secret(client, box, secret)
    else:
        secret = None
    await store.save_client(client)
    return client, secret


async def delete_client(store: Store, client_id: str, actor: str) -> bool:
    """Delete a client and revoke every token it holds."""
    await store.revoke(
        RevocationTarget.client(client_id),
        int(time.time()),
        AuditEvent("revoke_all", actor, "client_deleted", client_id),
    )
    return await store.delete_client(client_id)


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


def describe(client: Client, secret: str | None = None) -> dict[str, Any]:
    out = client.to_json()
    if secret:
        out["clientSecret"] = secret
    return out
