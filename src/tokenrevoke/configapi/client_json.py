"""Janssen's client JSON <-> `Client`, without loss.

The members this server acts on (grant types, scopes, authentication method, keys,
lifetimes, ...) become `Client` fields; every other member of Janssen's `Client` schema
(redirectUris, subjectType, customAttributes, ...) is type-checked against that schema
(janssen_schema.py) and kept as given in `Client.extra`, and GET returns it. Members outside
the schema are ignored, as Janssen's own JSON binding ignores them.

Scopes are accepted as ids or DNs (`inum=...,ou=scopes,o=jans`) and returned as DNs, as
Janssen's config API does; the `Client` keeps the ids, which is what tokens carry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import orjson

from tokenrevoke.configapi.janssen_schema import CLIENT, CLIENT_ATTRIBUTES, SchemaError, check
from tokenrevoke.model import AuthMethod, Client, Scope
from tokenrevoke.model.client import STATUS_LIST_FOR_OPAQUE_TOKENS
from tokenrevoke.model.config import INT32_MAX


class ClientError(ValueError):
    pass


# Members computed from the client's id, and credentials, which are never kept as given:
# the secret (an HMAC, client_secret_jwt's ciphertext) and a registration access token
# (we do no dynamic registration; a raw token must not reach the store).
_DERIVED = ("dn", "baseDn", "inum", "clientSecret", "registrationAccessToken")
# Members this server interprets (the rest of the schema goes to `Client.extra`).
_INTERPRETED = (
    "clientName", "displayName", "grantTypes", "scopes", "tokenEndpointAuthMethod", "jwks",
    "jwksUri", "authorizedOrigins", "accessTokenAsJwt", "accessTokenLifetime",
    "refreshTokenLifetime", "disabled", "attributes",
)  # fmt: skip
_INTERPRETED_ATTRIBUTES = ("tlsClientAuthSubjectDn", "idTokenLifetime")
# Our own client attributes (not in Janssen's ClientAttributes): certificate binding and
# the per-client refresh-token reuse overrides (docs/configuration.md).
_OUR_ATTRIBUTES = {
    "tlsClientCertificateBoundAccessTokens": "boolean",
    "refreshTokenReuseDetection": "boolean",
    "refreshTokenReuseGraceSeconds": "int32",
}
# Ours too, kept as given among the client's attributes: a status-list index for its opaque
# access tokens as well as its JWT ones (docs/status-list.md).
_OUR_KEPT_ATTRIBUTES = {STATUS_LIST_FOR_OPAQUE_TOKENS: "boolean"}
# The grant types the token endpoint serves; the others of Janssen's enum are kept but
# grant nothing here.
SERVED_GRANTS = frozenset({"client_credentials", "password", "refresh_token", "authorization_code"})


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeNames:
    """Scope ids <-> DNs, from the stored scopes."""

    id_by_inum: dict[str, str]
    dn_by_id: dict[str, str]

    @classmethod
    def of(cls, scopes: Iterable[Scope]) -> ScopeNames:
        listed = list(scopes)
        return cls({s.inum: s.id for s in listed}, {s.id: s.dn for s in listed})

    def ids(self, values: list[str]) -> list[str]:
        """Ids for ids or DNs; a DN must name a stored scope."""
        out = []
        for value in values:
            if value.startswith("inum=") and ",ou=scopes" in value:
                inum = value[5:].split(",", 1)[0]
                if inum not in self.id_by_inum:
                    raise ClientError(f"unknown scope {value}")
                out.append(self.id_by_inum[inum])
            else:
                out.append(value)
        return list(dict.fromkeys(out))

    def dns(self, ids: list[str]) -> list[str]:
        """DNs for ids; an id that names no stored scope stays as it is."""
        return [self.dn_by_id.get(scope_id, scope_id) for scope_id in ids]


NO_SCOPES = ScopeNames({}, {})


def client_dn(client_id: str) -> str:
    return f"inum={client_id},ou=clients,o=jans"


def client_json(client: Client, scopes: ScopeNames = NO_SCOPES) -> dict[str, Any]:
    """Janssen's client JSON; never the secret. A member without a value is left out
    (Janssen's schema has no nulls), except our own attributes, where null means "follow
    the server's property"."""
    extra = dict(client.extra)
    attributes = {
        **(extra.pop("attributes", None) or {}),
        "tlsClientAuthSubjectDn": client.tls_subject_dn,
        "idTokenLifetime": client.id_token_lifetime,
    }
    dn = client_dn(client.client_id)
    out = {
        **extra,
        "dn": dn,
        "baseDn": dn,
        "inum": client.client_id,
        "clientName": client.client_name,
        "displayName": client.client_name,
        "grantTypes": list(client.grant_types),
        "scopes": scopes.dns(client.scopes),
        "tokenEndpointAuthMethod": client.auth_method.value,
        "jwks": orjson.dumps(client.jwks).decode() if client.jwks else None,
        "jwksUri": client.jwks_uri,
        "authorizedOrigins": list(client.authorized_origins),
        "accessTokenAsJwt": client.access_token_as_jwt,
        "accessTokenLifetime": client.access_token_lifetime,
        "refreshTokenLifetime": client.refresh_token_lifetime,
        "disabled": client.disabled,
    }
    out = {k: v for k, v in out.items() if v is not None}
    out["attributes"] = {
        **{k: v for k, v in attributes.items() if v is not None},
        "tlsClientCertificateBoundAccessTokens": client.tls_bound_tokens,
        "refreshTokenReuseDetection": client.refresh_token_reuse_detection,
        "refreshTokenReuseGraceSeconds": client.refresh_token_reuse_grace_seconds,
    }
    return out


def patch_base(client: Client, scopes: ScopeNames) -> dict[str, Any]:
    """What a JSON Patch applies to: the client's JSON with every member of Janssen's
    schema present (null where it has no value), so that `replace` works on any of them,
    as it does on Janssen's client object."""
    document = client_json(client, scopes)
    attributes = {**dict.fromkeys(CLIENT_ATTRIBUTES), **document.pop("attributes")}
    return {**dict.fromkeys(CLIENT), **document, "attributes": attributes}


def _checked(data: dict[str, Any], table: dict[str, Any], where: str) -> dict[str, Any]:
    """The members of `table` present in `data`, type-checked; the rest dropped."""
    try:
        return {k: check(where + k, v, table[k]) for k, v in data.items() if k in table}
    except SchemaError as exc:
        raise ClientError(str(exc)) from None


def _lifetime(data: dict[str, Any], name: str, minimum: int = 1) -> int | None:
    """An optional number of seconds (already checked to be an int32)."""
    value: int | None = data.get(name)
    if value is not None and not minimum <= value <= INT32_MAX:
        what = "positive" if minimum > 0 else "non-negative"
        raise ClientError(f"{name} must be a {what} 32-bit integer")
    return value


def _jwks(value: str | None) -> dict[str, Any] | None:
    if value is None or not value.strip():
        return None
    try:
        jwks = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise ClientError("jwks is not valid JSON") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ClientError('jwks must be a JWK set: {"keys": [...]}')
    return jwks


def client_from_json(data: Any, base: Client | None, scopes: ScopeNames) -> Client:
    """A Client from Janssen's JSON (POST/PUT bodies, patched documents). Every member is
    replaced: what the document leaves out takes its default, as with Janssen's PUT."""
    if not isinstance(data, dict):
        raise ClientError("the client must be a JSON object")
    jwks = data.get("jwks")
    if isinstance(jwks, dict):  # older documents of ours (and some tools) send the object
        data = {**data, "jwks": orjson.dumps(jwks).decode()}
    given = _checked(data, CLIENT, "")
    raw_attributes = given.get("attributes") or {}
    attrs = _checked(
        raw_attributes,
        {**CLIENT_ATTRIBUTES, **_OUR_ATTRIBUTES, **_OUR_KEPT_ATTRIBUTES},
        "attributes.",
    )
    method_name = given.get("tokenEndpointAuthMethod") or AuthMethod.CLIENT_SECRET_BASIC.value
    try:
        method = AuthMethod(method_name)
    except ValueError:
        raise ClientError(f"unsupported tokenEndpointAuthMethod {method_name!r}") from None
    grants = given.get("grantTypes")
    # Null is no value (Janssen's schema has no nulls): not kept.
    extra = {
        k: v
        for k, v in given.items()
        if v is not None and k not in _DERIVED and k not in _INTERPRETED
    }
    extra_attributes = {
        k: v
        for k, v in attrs.items()
        if v is not None and k not in _INTERPRETED_ATTRIBUTES and k not in _OUR_ATTRIBUTES
    }
    if extra_attributes:
        extra["attributes"] = extra_attributes
    seed = base or Client(client_id="")
    return dataclasses.replace(
        seed,
        client_id=given.get("inum") or seed.client_id,
        client_name=given.get("clientName") or given.get("displayName") or "",
        grant_types=["client_credentials"] if grants is None else grants,
        scopes=scopes.ids(given.get("scopes") or []),
        auth_method=method,
        jwks=_jwks(given.get("jwks")),
        jwks_uri=given.get("jwksUri") or None,
        authorized_origins=given.get("authorizedOrigins") or [],
        access_token_as_jwt=bool(given.get("accessTokenAsJwt")),
        access_token_lifetime=_lifetime(given, "accessTokenLifetime"),
        refresh_token_lifetime=_lifetime(given, "refreshTokenLifetime"),
        id_token_lifetime=_lifetime(attrs, "idTokenLifetime"),
        tls_subject_dn=attrs.get("tlsClientAuthSubjectDn") or None,
        tls_bound_tokens=bool(attrs.get("tlsClientCertificateBoundAccessTokens")),
        refresh_token_reuse_detection=attrs.get("refreshTokenReuseDetection"),
        refresh_token_reuse_grace_seconds=_lifetime(
            attrs, "refreshTokenReuseGraceSeconds", minimum=0
        ),
        disabled=bool(given.get("disabled")),
        extra=extra,
    )
