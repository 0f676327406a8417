"""The OpenID/OAuth discovery document (OpenID Connect Discovery 1.0 section 4), served at
`/.well-known/openid-configuration` and at RFC 8414's `/.well-known/oauth-authorization-server`
(with the issuer's path, if any, appended: RFC 8414 section 3.1)."""

from __future__ import annotations

from typing import Any

from tokenrevoke.model import AppConfiguration, AuthMethod, FeatureFlag
from tokenrevoke.oauth import global_revocation, pkce, session_revocation, status_lists
from tokenrevoke.oauth.authz_request import PROMPTS, RESPONSE_MODES
from tokenrevoke.oauth.token_endpoint import SUPPORTED_GRANTS

AUTH_METHODS = [m.value for m in AuthMethod]
# The claims of id_tokens and of userinfo (oauth/id_token.py, oauth/userinfo.py).
CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
          "preferred_username", "name", "email")  # fmt: skip
# RFC 8414 section 2: method names from IANA's "OAuth Token Endpoint Authentication
# Methods" registry, or, for introspection, an access token type from "OAuth Access Token
# Types" ("Bearer", spelled as registered; the two registries' names never collide,
# section 7.2). /revoke accepts a Bearer access token too (Janssen's rule), so that list
# names it the same way rather than hide what the endpoint takes. Introspection takes any
# client authentication but `none` (public clients may not introspect).
BEARER = "Bearer"
_REVOCATION_METHODS = [*AUTH_METHODS, BEARER]
_INTROSPECTION_METHODS = [m for m in AUTH_METHODS if m != "none"] + [BEARER]
# For client_secret_jwt (HS*) and private_key_jwt assertions; RFC 8414 section 2 requires the
# list wherever an endpoint's methods include either.
_SIGNING_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                 "PS512", "ES256", "ES384", "ES512"]  # fmt: skip


def discovery_document(cfg: AppConfiguration, scopes: list[str]) -> dict[str, Any]:
    revoke_on = cfg.enabled(FeatureFlag.REVOKE_TOKEN)
    introspect_on = cfg.enabled(FeatureFlag.INTROSPECTION)
    doc: dict[str, Any] = {
        "issuer": cfg.issuer,
        "authorization_endpoint": cfg.authorization_endpoint,
        "token_endpoint": cfg.token_endpoint,
        "userinfo_endpoint": cfg.user_info_endpoint if cfg.enabled(FeatureFlag.USERINFO) else None,
        "jwks_uri": cfg.jwks_uri,
        "revocation_endpoint": cfg.token_revocation_endpoint if revoke_on else None,
        "introspection_endpoint": cfg.introspection_endpoint if introspect_on else None,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": _SIGNING_ALGS,
    }
    if revoke_on:
        doc["revocation_endpoint_auth_methods_supported"] = _REVOCATION_METHODS
        doc["revocation_endpoint_auth_signing_alg_values_supported"] = _SIGNING_ALGS
    if introspect_on:
        doc["introspection_endpoint_auth_methods_supported"] = _INTROSPECTION_METHODS
        doc["introspection_endpoint_auth_signing_alg_values_supported"] = _SIGNING_ALGS
    if cfg.enabled(FeatureFlag.GLOBAL_TOKEN_REVOCATION):
        doc["global_token_revocation_endpoint"] = global_revocation.endpoint_url(cfg)
        doc["global_token_revocation_endpoint_auth_methods_supported"] = list(
            global_revocation.AUTH_METHODS
        )
    if cfg.enabled(FeatureFlag.END_SESSION):
        # RP-initiated logout only: no front- or back-channel logout calls to clients.
        doc["end_session_endpoint"] = cfg.end_session_endpoint
        doc["frontchannel_logout_supported"] = False
        doc["backchannel_logout_supported"] = False
    if cfg.enabled(FeatureFlag.REVOKE_SESSION):
        doc["session_revocation_endpoint"] = session_revocation.endpoint_url(cfg)
    if cfg.enabled(FeatureFlag.STATUS_LIST):  # Janssen's key; the draft's aggregation key
        doc["status_list_endpoint"] = status_lists.endpoint_url(cfg)
        doc["status_list_aggregation_endpoint"] = status_lists.aggregation_url(cfg)
    doc |= {
        "grant_types_supported": list(SUPPORTED_GRANTS),
        "scopes_supported": scopes,
        # The authorization endpoint (docs/sign-in.md): the code flow only, PKCE S256 only.
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "code_challenge_methods_supported": list(pkce.METHODS),
        "prompt_values_supported": sorted(PROMPTS),
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_supported": list(CLAIMS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tls_client_certificate_bound_access_tokens": True,
    }
    aliases = {
        "token_endpoint": cfg.mtls_token_endpoint,
        "revocation_endpoint": cfg.mtls_token_revocation_endpoint if revoke_on else None,
        "introspection_endpoint": cfg.mtls_introspection_endpoint if introspect_on else None,
    }
    doc["mtls_endpoint_aliases"] = {k: v for k, v in aliases.items() if v}
    # `false` values stay: they say what is not supported.
    doc = _drop_blank(doc)
    return _filter_keys(doc, cfg)


def _drop_blank(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v not in (None, "", [], {})}


def _filter_keys(doc: dict[str, Any], cfg: AppConfiguration) -> dict[str, Any]:
    allowed = cfg.discovery_allowed_keys
    denied = set(cfg.discovery_deny_keys)
    if allowed:
        doc = {k: v for k, v in doc.items() if k in allowed}
    return {k: v for k, v in doc.items() if k not in denied}
