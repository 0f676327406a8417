"""OpenAPI 3 description of the config API, generated from the operation table, with the
schema names and JSON member names of Janssen's jans-config-api swagger; and the schema
helpers and document envelope that the auth server's description (auth_openapi.py) shares.
Its length is the schemas': one per Janssen resource the operations name."""

from __future__ import annotations

from typing import Any

from tokenrevoke import __version__
from tokenrevoke.configapi.janssen_schema import (
    AUTH_METHODS,
    CLIENT,
    CLIENT_ATTRIBUTES,
    SCOPE,
    SCOPE_ATTRIBUTES,
    Kind,
)
from tokenrevoke.model.config import LOG_LEVELS, MAX_STATUS_BLOCK, NO_EFFECT, PROPERTIES
from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES
from tokenrevoke.model.scope_ids import AUTH_CONFIG, AUTH_SESSION, CONFIG, CONFIG_API_SCOPES
from tokenrevoke.paths import CONFIG_API
from tokenrevoke.web.configapi_app import JSON, OPERATIONS, Operation

_S = {"type": "string"}
_I = {"type": "integer", "format": "int32"}
_B = {"type": "boolean"}
_STRINGS = {"type": "array", "items": _S}
# Janssen's swagger says `format: date-time`, but Janssen sends `2024-09-23T15:03:50` (no
# offset; its own examples), which is not RFC 3339. We send what Janssen sends, in UTC, and
# describe that faithfully instead.
_DATE = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$",
    "description": "UTC, yyyy-MM-ddTHH:mm:ss (Janssen's format, no offset)",
}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


# A date a client document carries as given: RFC 3339, or Janssen's form without an offset.
_GIVEN_DATE = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}",
    "description": "RFC 3339 date-time, or yyyy-MM-ddTHH:mm:ss (Janssen's format)",
}


def _janssen(kind: Kind) -> dict[str, Any]:
    """The OpenAPI schema of one kind of configapi/janssen_schema.py."""
    if isinstance(kind, tuple):
        shape, detail = kind
        if shape == "array":
            return {"type": "array", "items": _janssen(detail)}
        return {"type": "string", "enum": list(detail)}
    strings = {"type": "object", "additionalProperties": _S}
    schemas: dict[str, dict[str, Any]] = {
        "string": _S,
        "boolean": _B,
        "int32": _I,
        "date-time": _GIVEN_DATE,
        "object": {"type": "object"},
        "strings-object": strings,
        "localized": _obj({"values": strings}),
        "custom": _obj(
            {
                "name": _S,
                "multiValued": _B,
                "values": {"type": "array", "items": {}},
                "value": {},
                "displayValue": _S,
            }
        ),
    }
    return schemas[kind]


def _members(table: dict[str, Kind]) -> dict[str, Any]:
    return {name: _janssen(kind) for name, kind in table.items()}


def _paged(items: dict[str, Any]) -> dict[str, Any]:
    return _obj(
        {
            "start": _I,
            "totalEntriesCount": _I,
            "entriesCount": _I,
            "entries": {"type": "array", "items": items},
        }
    )


_KIND = {
    "bool": _B,
    "posint": _I,
    "nonnegint": {**_I, "minimum": 0},
    "count": _I,
    "window": _I,
    "bits": {**_I, "enum": [1, 2, 4, 8]},
    "rs256": {"type": "string", "enum": ["RS256"]},
    "blocksize": {**_I, "minimum": 1, "maximum": MAX_STATUS_BLOCK},
    "url": _S,  # unset ones are left out
    "loglevel": {"type": "string", "enum": list(LOG_LEVELS)},
    "strlist": _STRINGS,
    "flags": _STRINGS,
    "cors": {"type": "array", "items": {"type": "object"}},
    "receivers": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {"url": _S, "authorization": _S, "audience": _S},
        },
    },
}

_ref_status = {"$ref": "#/components/schemas/Status"}
_SESSION_DATES = ("authenticationTime", "lastUsedAt", "creationDate", "expirationDate", "endedAt")
SCHEMAS: dict[str, Any] = {
    "ApiError": _obj({"code": _S, "message": _S, "description": _S}),
    "TokenEntity": _obj(
        {
            "dn": _S,
            "grantId": _S,
            "userId": _S,
            "userDn": _S,
            "clientId": _S,
            "creationDate": _DATE,
            "expirationDate": _DATE,
            "deletable": _B,
            "scope": _S,
            "tokenCode": _S,
            "tokenType": _S,
            "grantType": _S,
            "referenceId": _S,
            "sessionDn": _S,
            "attributes": {"type": "object"},
            "tokenTypeEnum": {
                "type": "string",
                "enum": [
                    "ID_TOKEN",
                    "ACCESS_TOKEN",
                    "LONG_LIVED_ACCESS_TOKEN",
                    "REFRESH_TOKEN",
                    "AUTHORIZATION_CODE",
                    "LOGOUT_STATUS_JWT",
                    "TX_TOKEN",
                ],
            },
            "revoked": _B,
            "revocationDate": _DATE,
            "revokedBy": _S,
            "revocationReason": _S,
        }
    ),
    "UserTokenRevocation": _obj(
        {"userId": _S, "uid": _S, "revokedTokens": _I, "endedSessions": _I},
        ["userId", "revokedTokens", "endedSessions"],
    ),
    "TokenEntityPagedResult": _paged({"$ref": "#/components/schemas/TokenEntity"}),
    "SessionId": _obj(
        {
            **dict.fromkeys(("dn", "id", "outsideSid", "userDn", "endReason"), _S),
            **dict.fromkeys(_SESSION_DATES, _DATE),
            "state": {"type": "string", "enum": ["authenticated", "ended", "expired"]},
            "sessionAttributes": {"type": "object", "additionalProperties": _S},
            "deletable": _B,
            "persisted": _B,
        }
    ),
    "SessionPagedResult": _paged({"$ref": "#/components/schemas/SessionId"}),
    "PagedResult": _paged({"type": "object"}),
    # Every member of Janssen's Client and Scope schemas (kept as given where we do not act
    # on them: docs/janssen-compatibility.md), with what we accept where it is narrower.
    "Client": _obj(
        {
            **_members(CLIENT),
            "tokenEndpointAuthMethod": {
                "type": "string",
                "enum": [m for m in AUTH_METHODS if m != "access_token"],
            },
            "attributes": _obj(
                {
                    **_members(CLIENT_ATTRIBUTES),
                    # Ours: certificate binding, and the reuse-detection overrides (null =
                    # follow the server's property).
                    "tlsClientCertificateBoundAccessTokens": _B,
                    "refreshTokenReuseDetection": {**_B, "nullable": True},
                    "refreshTokenReuseGraceSeconds": {**_I, "minimum": 0, "nullable": True},
                }
            ),
        }
    ),
    "Scope": _obj(
        {
            **_members(SCOPE),
            "attributes": _obj(_members(SCOPE_ATTRIBUTES)),
            "creationDate": _DATE,
        }
    ),
    "ScopeList": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
    "StringList": _STRINGS,
    "AppConfiguration": _obj(
        {
            **{name: _KIND[kind] for name, (kind, _) in PROPERTIES.items()},
            **{name: JANSSEN_PROPERTIES[name] for name in sorted(NO_EFFECT)},
        }
    ),
    "Logging": _obj(
        {
            "loggingLevel": {"type": "string", "enum": list(LOG_LEVELS)},
            "loggingLayout": _S,
            "httpLoggingEnabled": _B,
            "disableJdkLogger": _B,
            "enabledOAuthAuditLogging": _B,
            "externalLoggerConfiguration": _S,
            "httpLoggingExcludePaths": _STRINGS,
        }
    ),
    "Status": _obj({"name": _S, "status": _S, "error": _S}),
    "HealthStatusList": {
        "type": "array",
        "items": _obj(
            {
                "status": _S,
                "checks": {"type": "array", "items": {"$ref": "#/components/schemas/Status"}},
            }
        ),
    },
    "JsonNode": {"type": "object"},
    "StatsData": _obj(
        {
            "dbType": _S,
            "lastUpdate": {"type": "string", "format": "date-time"},
            "facterData": _obj(
                {
                    k: _S
                    for k in (
                        "memoryfree",
                        "swapfree",
                        "hostname",
                        "ipaddress",
                        "uptime",
                        "free_disk_space",
                        "load_average",
                    )
                }
            ),
        }
    ),
    "PersistenceConfiguration": _obj(
        {
            k: _S
            for k in (
                "databaseName",
                "schemaName",
                "productName",
                "productVersion",
                "driverName",
                "driverVersion",
            )
        }
    ),
    "PluginConfList": {
        "type": "array",
        "items": _obj({"name": _S, "description": _S, "className": _S}),
    },
    "Boolean": _B,
    "AuthenticationMethod": _obj({"defaultAcr": _S}),
    "WebKeysConfiguration": _obj(
        {
            "keys": {
                "type": "array",
                "items": _obj(
                    {
                        "kid": _S,
                        "kty": _S,
                        "use": _S,
                        "alg": _S,
                        "n": _S,
                        "e": _S,
                        "name": _S,
                        "descr": _S,
                        "exp": {"type": "integer", "format": "int64"},
                    }
                ),
            }
        }
    ),
    "CustomScript": _obj(
        {
            "dn": _S,
            "inum": _S,
            "name": {
                "type": "string",
                "minLength": 2,
                "maxLength": 60,
                "pattern": "^[a-zA-Z0-9_\\-\\:\\/\\.]+$",
            },
            "description": _S,
            "script": _S,
            "scriptType": {"type": "string", "enum": ["revoke_token"]},
            "programmingLanguage": {"type": "string", "enum": ["python"]},
            "level": _I,
            "revision": {"type": "integer", "format": "int64"},
            "enabled": _B,
            "modified": _B,
            "internal": _B,
            "locationType": {"type": "string", "enum": ["ldap", "db"]},
            "moduleProperties": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SimpleCustomProperty"},
            },
            "configurationProperties": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SimpleExtendedCustomProperty"},
            },
        }
    ),
    "SimpleCustomProperty": _obj({"value1": _S, "value2": _S, "description": _S}),
    "SimpleExtendedCustomProperty": _obj(
        {"value1": _S, "value2": _S, "hide": _B, "description": _S}
    ),
    "JsonPatch": _obj(
        {
            "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": _S,
            "from": _S,
            "value": {},
        },
        ["op", "path"],
    ),
    "JsonPatchArray": {"type": "array", "items": {"$ref": "#/components/schemas/JsonPatch"}},
}

_ERROR_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "InternalServerError",
    503: "Service Unavailable",
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(op: Operation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name.strip("{}"), "in": "path", "required": True, "schema": _S}
        for name in op.path.split("/")
        if name.startswith("{")
    ]
    for name, kind, default in op.query:
        schema = {**(_I if kind == "integer" else {"type": kind}), "default": default}
        params.append({"name": name, "in": "query", "schema": schema})
    success: dict[str, Any] = {"description": "OK" if op.status != 204 else "No Content"}
    if op.response:
        success["content"] = {JSON: {"schema": _ref(op.response)}}
    if op.status == 201:
        success["description"] = "Created"
    responses: dict[str, Any] = {str(op.status): success}
    for code in (*op.errors, 409) if op.method in ("POST", "PUT", "PATCH") else op.errors:
        responses[str(code)] = {
            "description": _ERROR_TEXT[code],
            "content": {JSON: {"schema": _ref("ApiError")}},
        }
    doc: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": op.operation_id,
        "parameters": params,
        "responses": responses,
        "security": [{"oauth2": [scope]} for scope in op.scopes],  # [] = none needed
    }
    if op.request:
        doc["requestBody"] = {
            "required": True,
            "content": {op.request_type: {"schema": _ref(op.request)}},
        }
        for code in (413, 415):
            responses[str(code)] = {
                "description": _ERROR_TEXT[code],
                "content": {JSON: {"schema": _ref("ApiError")}},
            }
    return doc


# Janssen's descriptions of the scopes (components.securitySchemes of its swagger).
_SCOPE_TEXT = {
    "token.readonly": "View Token details",
    "token.write": "Manage Token details",
    "token.delete": "Delete Token details",
    "token.admin": "Admin for Token management",
    "openid/clients.readonly": "View clients related information",
    "openid/clients.write": "Manage clients related information",
    "openid/clients.delete": "Delete clients related information",
    "openid/clients.admin": "Admin for clients management",
    "openid/openid.readonly": "View OpenID functionality",
    "openid/openid.write": "Manage OpenID functionality",
    "openid/openid.delete": "Delete OpenID functionality",
    "scopes.readonly": "View scope related information",
    "scopes.write": "Manage scope related information",
    "scopes.delete": "Delete scope related information",
    "scopes.admin": "Admin for scope management",
    "scripts.readonly": "View cache scripts information",
    "scripts.write": "Manage scripts related information",
    "scripts.delete": "Delete scripts related information",
    "scripts.admin": "Admin for Scripts management",
    "properties.readonly": "View Auth Server properties related information",
    "properties.write": "Manage Auth Server properties related information",
    "properties.admin": "Admin scope for Auth Server properties",
    "session.readonly": "View Session related information",
    "session.delete": "Delete Session information",
    "session.admin": "Admin for Session management",
    "app-version.readonly": "View application version",
    "health.admin": "Admin for health checks",
    "plugin.readonly": "View plugins",
    "plugin.admin": "Admin for plugins",
    "attributes.readonly": "View attribute related information",
    "attributes.write": "Manage attribute related information",
    "attributes.admin": "Admin for attribute management",
    "jwks.readonly": "View JWKS related information",
    "jwks.write": "Manage JWKS related information",
    "jwks.admin": "Admin for JWKS management",
    "acrs.readonly": "View ACRS related information",
    "acrs.write": "Manage ACRS related information",
    "acrs.admin": "Admin for ACRS management",
    "logging.readonly": "View logging related information",
    "logging.write": "Manage logging related information",
    "logging.admin": "Admin for logging management",
    "read-all": "Super admin read access to all configuration resources",
    "write-all": "Super admin write access to all configuration resources",
    "delete-all": "Super admin delete access to all configuration resources",
}


def _declared_scopes() -> dict[str, str]:
    """Every scope an operation accepts (and every config API scope we create)."""
    scopes = sorted({*CONFIG_API_SCOPES, *(s for op in OPERATIONS for s in op.scopes)})
    out = {}
    for scope in scopes:
        short = scope.removeprefix(CONFIG).removeprefix(AUTH_CONFIG)
        short = short.removeprefix(AUTH_SESSION.removesuffix("session."))
        out[scope] = _SCOPE_TEXT.get(short, short)
    return out


def document(
    title: str,
    server: str,
    paths: dict[str, dict[str, Any]],
    schemas: dict[str, Any],
    security_schemes: dict[str, Any],
) -> dict[str, Any]:
    """An OpenAPI 3.0 document: what both of our descriptions have in common."""
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": __version__},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    }


def openapi_document(issuer: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    oauth2 = {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": f"{issuer}/jans-auth/restv1/token",
                "scopes": _declared_scopes(),
            }
        },
    }
    return document(
        "tokenrevoke config API (Janssen jans-config-api compatible)",
        f"{issuer}{CONFIG_API}",
        paths,
        SCHEMAS,
        {"oauth2": oauth2},
    )


# The schema helpers auth_openapi.py shares.
STRING, INT32, BOOLEAN, STRINGS = _S, _I, _B, _STRINGS
object_schema, schema_ref, ERROR_TEXT = _obj, _ref, _ERROR_TEXT


DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>tokenrevoke config API</title>
<style>
body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2rem}
td,th{text-align:left;padding:.2rem .6rem;vertical-align:top}
tr:nth-child(even){background:#fafafa}
</style></head><body>
<h1>tokenrevoke config API</h1>
<p>Janssen jans-config-api compatible. Machine-readable description:
<a href="openapi.json">openapi.json</a>. Every call needs a Bearer access token from
<code>/jans-auth/restv1/token</code> (client_credentials) with one of the listed scopes.</p>
<table><tr><th>method</th><th>path</th><th>operationId</th><th>summary</th></tr>
{rows}</table></body></html>"""


def docs_page() -> str:
    from html import escape

    rows = "\n".join(
        f"<tr><td>{op.method}</td><td><code>{escape(CONFIG_API + op.path)}</code></td>"
        f"<td>{escape(op.operation_id)}</td><td>{escape(op.summary)}</td></tr>"
        for op in OPERATIONS
    )
    return DOCS_PAGE.replace("{rows}", rows)
