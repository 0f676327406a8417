"""The members of Janssen's `Client`, `ClientAttributes`, `Scope` and `ScopeAttributes`
schemas and their JSON types (jans-config-api-swagger.yaml, components.schemas), for
checking what a document carries. tests/unit/test_janssen_schema.py compares these tables
with Janssen's document, so they cannot drift from it.

A type is one of: "string", "boolean", "int32", "date-time", "object" (any JSON object),
"strings-object" (an object of strings), "localized" (LocalizedString), "custom"
(CustomObjectAttribute), ("array", item type) or ("enum", allowed strings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tokenrevoke.model.config import INT32_MAX

Kind = str | tuple[str, Any]

STRING, BOOL, INT, DATE = "string", "boolean", "int32", "date-time"
STRINGS: Kind = ("array", STRING)

GRANT_TYPES = (
    "none", "authorization_code", "implicit", "password", "client_credentials",
    "refresh_token", "urn:ietf:params:oauth:grant-type:uma-ticket",
    "urn:ietf:params:oauth:grant-type:token-exchange", "urn:openid:params:grant-type:ciba",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
)  # fmt: skip
AUTH_METHODS = (
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt",
    "access_token", "tls_client_auth", "self_signed_tls_client_auth", "none",
)  # fmt: skip
SIGNING_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")

_STRING_MEMBERS = (
    "dn", "clientSecret", "frontChannelLogoutUri", "registrationAccessToken",
    "idTokenTokenBindingCnf", "clientName", "logoUri", "clientUri", "policyUri", "tosUri",
    "jwksUri", "jwks", "sectorIdentifierUri", "idTokenSignedResponseAlg",
    "idTokenEncryptedResponseAlg", "idTokenEncryptedResponseEnc", "userInfoSignedResponseAlg",
    "userInfoEncryptedResponseAlg", "userInfoEncryptedResponseEnc", "requestObjectSigningAlg",
    "requestObjectEncryptionAlg", "requestObjectEncryptionEnc", "tokenEndpointAuthSigningAlg",
    "initiateLoginUri", "accessTokenSigningAlg", "softwareId", "softwareVersion",
    "softwareStatement", "backchannelClientNotificationEndpoint", "description",
    "organization", "displayName", "baseDn", "inum",
)  # fmt: skip
_STRING_LIST_MEMBERS = (
    "redirectUris", "claimRedirectUris", "contacts", "defaultAcrValues",
    "postLogoutRedirectUris", "requestUris", "scopes", "claims", "customObjectClasses",
    "authorizedOrigins", "groups",
)  # fmt: skip
_BOOL_MEMBERS = (
    "deletable", "frontChannelLogoutSessionRequired", "trustedClient",
    "persistClientAuthorizations", "includeClaimsInIdToken", "rptAsJwt", "accessTokenAsJwt",
    "disabled", "backchannelUserCodeParameter",
)  # fmt: skip

_INT_MEMBERS = ("defaultMaxAge", "refreshTokenLifetime", "accessTokenLifetime", "ttl")
_DATE_MEMBERS = (
    "expirationDate", "clientIdIssuedAt", "clientSecretExpiresAt", "lastAccessTime",
    "lastLogonTime",
)  # fmt: skip
_LOCALIZED_MEMBERS = (
    "clientNameLocalized", "logoUriLocalized", "clientUriLocalized", "policyUriLocalized",
    "tosUriLocalized",
)  # fmt: skip

CLIENT: dict[str, Kind] = {
    **dict.fromkeys(_STRING_MEMBERS, STRING),
    **dict.fromkeys(_STRING_LIST_MEMBERS, STRINGS),
    **dict.fromkeys(_BOOL_MEMBERS, BOOL),
    **dict.fromkeys(_INT_MEMBERS, INT),
    **dict.fromkeys(_DATE_MEMBERS, DATE),
    **dict.fromkeys(_LOCALIZED_MEMBERS, "localized"),
    "responseTypes": ("array", ("enum", ("code", "token", "id_token"))),
    "grantTypes": ("array", ("enum", GRANT_TYPES)),
    "applicationType": ("enum", ("native", "web")),
    "subjectType": ("enum", ("pairwise", "public")),
    "tokenEndpointAuthMethod": ("enum", AUTH_METHODS),
    "customAttributes": ("array", "custom"),
    "attributes": "object",
    "backchannelTokenDeliveryMode": ("enum", ("poll", "ping", "push")),
    "backchannelAuthenticationRequestSigningAlg": ("enum", SIGNING_ALGS),
}

_ATTRIBUTE_STRINGS = (
    "tlsClientAuthSubjectDn", "jansAuthSignedRespAlg", "jansAuthEncRespAlg",
    "jansAuthEncRespEnc", "jansSubAttr", "redirectUrisRegex", "evidence",
    "introspectionSignedResponseAlg", "introspectionEncryptedResponseAlg",
    "introspectionEncryptedResponseEnc", "txTokenSignedResponseAlg",
    "txTokenEncryptedResponseAlg", "txTokenEncryptedResponseEnc",
    "logoutStatusJwtSignedResponseAlg",
)  # fmt: skip
_ATTRIBUTE_BOOLS = (
    "runIntrospectionScriptBeforeJwtCreation", "keepClientAuthorizationAfterExpiration",
    "allowSpontaneousScopes", "backchannelLogoutSessionRequired", "requirePar",
    "dpopBoundAccessToken", "jansDefaultPromptLogin", "allowOfflineAccessWithoutConsent",
    "requirePkce", "minimumAcrLevelAutoresolve",
)  # fmt: skip
_ATTRIBUTE_STRING_LISTS = (
    "spontaneousScopes", "spontaneousScopeScriptDns", "updateTokenScriptDns",
    "logoutStatusJwtScriptDns", "parScriptDns", "txTokenScriptDns", "backchannelLogoutUri",
    "additionalAudience", "postAuthnScripts", "tokenExchangeScripts",
    "consentGatheringScripts", "introspectionScripts", "rptClaimsScripts", "ropcScripts",
    "jansAuthorizedAcr", "additionalTokenEndpointAuthMethods", "minimumAcrPriorityList",
    "authorizationDetailsTypes",
)  # fmt: skip
_ATTRIBUTE_INTS = (
    "parLifetime", "txTokenLifetime", "idTokenLifetime", "minimumAcrLevel", "requestedLifetime",
)  # fmt: skip

CLIENT_ATTRIBUTES: dict[str, Kind] = {
    **dict.fromkeys(_ATTRIBUTE_STRINGS, STRING),
    **dict.fromkeys(_ATTRIBUTE_BOOLS, BOOL),
    **dict.fromkeys(_ATTRIBUTE_STRING_LISTS, STRINGS),
    **dict.fromkeys(_ATTRIBUTE_INTS, INT),
}


SCOPE: dict[str, Kind] = {
    **dict.fromkeys(
        ("dn", "inum", "displayName", "id", "iconUrl", "description", "creatorId", "baseDn"),
        STRING,
    ),
    **dict.fromkeys(("deletable", "defaultScope", "groupClaims", "umaType"), BOOL),
    **dict.fromkeys(("claims", "dynamicScopeScripts", "umaAuthorizationPolicies"), STRINGS),
    **dict.fromkeys(("expirationDate", "creationDate"), DATE),
    "scopeType": ("enum", ("openid", "dynamic", "uma", "spontaneous", "oauth")),
    "attributes": "object",
    "creatorType": ("enum", ("none", "client", "user", "auto")),
    "creatorAttributes": "strings-object",
}
SCOPE_ATTRIBUTES: dict[str, Kind] = {
    "spontaneousClientScopes": STRINGS,
    "showInConfigurationEndpoint": BOOL,
}


class SchemaError(ValueError):
    """A member whose value does not have the type Janssen's schema gives it."""


def check(name: str, value: Any, kind: Kind) -> Any:
    """`value` if it has type `kind`, else SchemaError naming the member (`name`, a JSON
    pointer-like path) and the type it needs. Null is accepted wherever a value is
    optional (every member of these schemas is)."""
    if value is None:
        return None
    if isinstance(kind, tuple):
        shape, detail = kind
        if shape == "array":
            if not isinstance(value, list):
                raise SchemaError(f"{name} must be an array")
            return [check(f"{name}[{i}]", v, detail) for i, v in enumerate(value)]
        if not isinstance(value, str) or value not in detail:
            raise SchemaError(f"{name} must be one of {', '.join(detail)}")
        return value
    if kind == STRING and isinstance(value, str):
        return value
    if kind == BOOL and isinstance(value, bool):
        return value
    if kind == INT and isinstance(value, int) and not isinstance(value, bool):
        if not -(INT32_MAX + 1) <= value <= INT32_MAX:
            raise SchemaError(f"{name} must be a 32-bit integer")
        return value
    if kind == DATE and isinstance(value, str):
        _date_time(name, value)
        return value
    if kind == "object" and isinstance(value, dict):
        return value
    if kind == "strings-object" and isinstance(value, dict):
        if not all(isinstance(v, str) for v in value.values()):
            raise SchemaError(f"{name} must be an object of strings")
        return value
    if kind == "localized" and isinstance(value, dict):
        return _localized(name, value)
    if kind == "custom" and isinstance(value, dict):
        return _custom_attribute(name, value)
    what = {
        STRING: "a string", BOOL: "true or false", INT: "an integer",
        DATE: "a date-time string", "object": "an object", "strings-object": "an object",
        "localized": "an object (LocalizedString)", "custom": "an object (CustomObjectAttribute)",
    }[kind]  # fmt: skip
    raise SchemaError(f"{name} must be {what}")


def _date_time(name: str, value: str) -> None:
    """RFC 3339 date-time, or Janssen's own zone-less form (2022-10-27T21:09:45)."""
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise SchemaError(f"{name} must be a date-time (like 2024-09-23T15:03:50Z)") from None
    if "T" not in value.upper():
        raise SchemaError(f"{name} must be a date-time (like 2024-09-23T15:03:50Z)")


def _localized(name: str, value: dict[str, Any]) -> dict[str, Any]:
    values = value.get("values")
    if values is not None and (
        not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
    ):
        raise SchemaError(f"{name}.values must be an object of strings")
    return value


def _custom_attribute(name: str, value: dict[str, Any]) -> dict[str, Any]:
    for member, kind in (("name", STRING), ("multiValued", BOOL), ("displayValue", STRING)):
        check(f"{name}.{member}", value.get(member), kind)
    values = value.get("values")
    if values is not None and not isinstance(values, list):
        raise SchemaError(f"{name}.values must be an array")
    return value
