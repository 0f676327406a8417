"""The OpenID/OAuth discovery document (contract section 4)."""

from __future__ import annotations

from typing import Any

from tokenrevoke.model import AppConfiguration, AuthMethod, FeatureFlag
from tokenrevoke.oauth import global_revocation
from tokenrevoke.oauth.tokens import SUPPORTED_GRANTS

AUTH_METHODS = [m.value for m in AuthMethod]
# /revoke also accepts a Bearer access token, but RFC 8414 has no name for that.
# Introspection: a Bearer access token (Janssen's name "bearer"), or any client
# authentication but `none` (public clients may not introspect).
_INTROSPECTION_METHODS = ["client_secret_basic", "bearer"] + [
    m for m in AUTH_METHODS if m not in ("client_secret_basic", "none")
]
# For client_secret_jwt (HS*) and private_key_jwt assertions; RFC 8414 section 2 requires the
# list wherever an endpoint's methods include either.
_SIGNING_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                 "PS512", "ES256", "ES384", "ES512"]  # fmt: skip


def discovery_document(cfg: AppConfiguration, scopes: list[str]) -> dict[str, Any]:
    revoke_on = cfg.enabled(FeatureFlag.REVOKE_TOKEN)
    introspect_on = cfg.enabled(FeatureFlag.INTROSPECTION)
    doc: dict[str, Any] = {
        "issuer": cfg["issuer"],
        "token_endpoint": cfg["tokenEndpoint"],
        "jwks_uri": cfg["jwksUri"],
        "revocation_endpoint": cfg["tokenRevocationEndpoint"] if revoke_on else None,
        "introspection_endpoint": cfg["introspectionEndpoint"] if introspect_on else None,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": _SIGNING_ALGS,
    }
    if revoke_on:
        doc["revocation_endpoint_auth_methods_supported"] = AUTH_METHODS
        doc["revocation_endpoint_auth_signing_alg_values_supported"] = _SIGNING_ALGS
    if introspect_on:
        doc["introspection_endpoint_auth_methods_supported"] = _INTROSPECTION_METHODS
        doc["introspection_endpoint_auth_signing_alg_values_supported"] = _SIGNING_ALGS
    if cfg.enabled(FeatureFlag.GLOBAL_TOKEN_REVOCATION):
        doc["global_token_revocation_endpoint"] = global_revocation.endpoint_url(cfg)
        doc["global_token_revocation_endpoint_auth_methods_supported"] = list(
            global_revocation.AUTH_METHODS
        )
    doc |= {
        "grant_types_supported": list(SUPPORTED_GRANTS),
        "response_types_supported": ["token"],
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tls_client_certificate_bound_access_tokens": True,
    }
    aliases = {
        "token_endpoint": cfg["mtlsTokenEndpoint"],
        "revocation_endpoint": cfg["mtlsTokenRevocationEndpoint"] if revoke_on else None,
        "introspection_endpoint": cfg["mtlsIntrospectionEndpoint"] if introspect_on else None,
    }
    doc["mtls_endpoint_aliases"] = {k: v for k, v in aliases.items() if v}
    return _filter_keys(_drop_blank(doc), cfg)


def _drop_blank(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v not in (None, "", [], {})}


def _filter_keys(doc: dict[str, Any], cfg: AppConfiguration) -> dict[str, Any]:
    allowed = cfg["discoveryAllowedKeys"]
    denied = set(cfg["discoveryDenyKeys"])
    if allowed:
        doc = {k: v for k, v in doc.items() if k in allowed}
    return {k: v for k, v in doc.items() if k not in denied}
