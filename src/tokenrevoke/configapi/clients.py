"""Creating and managing clients."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import orjson

from tokenrevoke.crypto import SecretBox, new_id, new_secret
from tokenrevoke.model import AuditEvent, AuthMethod, Client
from tokenrevoke.model.client import SECRET_METHODS
from tokenrevoke.model.config import INT32_MAX
from tokenrevoke.model.scopes import CONFIG_API_SCOPES
from tokenrevoke.observability.metrics import revocation
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
    """Delete a client and revoke every token it holds. False (and no audit record) when
    there is no such client."""
    if await store.get_client(client_id) is None:
        return False
    revoked = await store.revoke(
        RevocationTarget.client(client_id),
        int(time.time()),
        AuditEvent("revoke_all", actor, "client_deleted", client_id),
    )
    revocation("client_delete", "revoked" if revoked else "no_match", revoked)
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
    out = client_json(client)
    if secret:
        out["clientSecret"] = secret
    return out


# -- Janssen's Client JSON ------------------------------------------------------------------
def client_json(client: Client) -> dict[str, Any]:
    """Janssen's client JSON names; never the secret."""
    return {
        "dn": f"inum={client.client_id},ou=clients,o=jans",
        "inum": client.client_id,
        "clientName": client.client_name,
        "displayName": client.client_name,
        "grantTypes": list(client.grant_types),
        "scopes": list(client.scopes),
        "tokenEndpointAuthMethod": client.auth_method.value,
        "jwks": orjson.dumps(client.jwks).decode() if client.jwks else None,
        "jwksUri": client.jwks_uri,
        "authorizedOrigins": list(client.authorized_origins),
        "accessTokenAsJwt": client.access_token_as_jwt,
        "accessTokenLifetime": client.access_token_lifetime,
        "refreshTokenLifetime": client.refresh_token_lifetime,
        "disabled": client.disabled,
        "attributes": {
            "tlsClientAuthSubjectDn": client.tls_subject_dn,
            "idTokenLifetime": client.id_token_lifetime,
            "tlsClientCertificateBoundAccessTokens": client.tls_bound_tokens,
            # Ours (Janssen has no reuse detection); null follows the server's property.
            "refreshTokenReuseDetection": client.refresh_token_reuse_detection,
            "refreshTokenReuseGraceSeconds": client.refresh_token_reuse_grace_seconds,
        },
    }


def _typed(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind is int:
        raise ClientError(f"{name} must be an integer")
    if not isinstance(value, kind):
        raise ClientError(f"{name} has the wrong type")
    return value


def _strings(data: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = _typed(data, name, list, default)
    if not all(isinstance(v, str) for v in value):
        raise ClientError(f"{name} must be a list of strings")
    return list(value)


def _lifetime(data: dict[str, Any], name: str, minimum: int = 1) -> int | None:
    """An optional number of seconds; a Java int at Janssen."""
    value: int | None = _typed(data, name, int, None)
    if value is not None and not minimum <= value <= INT32_MAX:
        what = "positive" if minimum > 0 else "non-negative"
        raise ClientError(f"{name} must be a {what} 32-bit integer")
    return value


def scope_ids(values: list[str], by_inum: dict[str, str]) -> list[str]:
    """Janssen clients may list scope DNs (inum=...,ou=scopes,o=jans); we keep scope ids."""
    out = []
    for value in values:
        if value.startswith("inum=") and ",ou=scopes" in value:
            inum = value[5:].split(",", 1)[0]
            if inum not in by_inum:
                raise ClientError(f"unknown scope {value}")
            out.append(by_inum[inum])
        else:
            out.append(value)
    return list(dict.fromkeys(out))


def client_from_json(data: Any, base: Client | None, scope_inums: dict[str, str]) -> Client:
    """Build a Client from Janssen's JSON; unknown members are ignored (Janssen's client has
    many that do not concern the token lifecycle)."""
    if not isinstance(data, dict):
        raise ClientError("the client must be a JSON object")
    attrs = _typed(data, "attributes", dict, {})
    jwks = data.get("jwks")
    if isinstance(jwks, str) and jwks.strip():
        try:
            jwks = orjson.loads(jwks)
        except orjson.JSONDecodeError:
            raise ClientError("jwks is not valid JSON") from None
    if jwks in ("", None):
        jwks = None
    elif not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ClientError('jwks must be a JWK set: {"keys": [...]}')
    try:
        method = AuthMethod(data.get("tokenEndpointAuthMethod") or "client_secret_basic")
    except ValueError:
        raise ClientError(
            f"unsupported tokenEndpointAuthMethod {data.get('tokenEndpointAuthMethod')!r}"
        ) from None
    seed = base or Client(client_id="")
    return dataclasses.replace(
        seed,
        client_id=_typed(data, "inum", str, seed.client_id),
        client_name=_typed(data, "clientName", str, "") or _typed(data, "displayName", str, ""),
        grant_types=_strings(data, "grantTypes", ["client_credentials"]),
        scopes=scope_ids(_strings(data, "scopes", []), scope_inums),
        auth_method=method,
        jwks=jwks,
        jwks_uri=_typed(data, "jwksUri", str, None) or None,
        authorized_origins=_strings(data, "authorizedOrigins", []),
        access_token_as_jwt=_typed(data, "accessTokenAsJwt", bool, False),
        access_token_lifetime=_lifetime(data, "accessTokenLifetime"),
        refresh_token_lifetime=_lifetime(data, "refreshTokenLifetime"),
        id_token_lifetime=_lifetime(attrs, "idTokenLifetime"),
        tls_subject_dn=_typed(attrs, "tlsClientAuthSubjectDn", str, None) or None,
        tls_bound_tokens=_typed(attrs, "tlsClientCertificateBoundAccessTokens", bool, False),
        refresh_token_reuse_detection=_typed(attrs, "refreshTokenReuseDetection", bool, None),
        refresh_token_reuse_grace_seconds=_lifetime(
            attrs, "refreshTokenReuseGraceSeconds", minimum=0
        ),
        disabled=_typed(data, "disabled", bool, False),
    )
