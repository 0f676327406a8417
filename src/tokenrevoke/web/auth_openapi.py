"""OpenAPI 3 description of the auth-server endpoints we serve (authorize, token, userinfo,
revoke, introspection, global token revocation, end_session and revoke_session, the
revocation event stream, JWKS,
discovery, health, metrics),
with the operation ids, parameter names and response codes of Janssen's jans-auth-server
swagger for those operations, corrected to what goes on the wire (served at
`/jans-auth/restv1/openapi.json`). Janssen's swagger does not describe global token
revocation: that one follows draft-parecki-oauth-global-token-revocation and Janssen's
GlobalTokenRevocationRequest (`sub_id`: `format`, `id`).

Where Janssen's swagger and its wire format differ, this describes the wire: `scope` is one
space-separated string (RFC 6749/7662), not an array; `grant_type` is one value; the
client authenticates through security schemes (OpenAPI ignores `Authorization` header
parameters); error bodies may carry `reason` (`errorReasonEnabled`). Its length is the
description's: one entry per endpoint, in one place so the document reads whole.
"""

from __future__ import annotations

from typing import Any

from tokenrevoke.model.scope_ids import GLOBAL_TOKEN_REVOCATION, REVOCATION_EVENTS, REVOKE_SESSION
from tokenrevoke.oauth import end_session as logout
from tokenrevoke.oauth import pkce
from tokenrevoke.oauth.authz_request import PROMPTS, RESPONSE_MODES
from tokenrevoke.oauth.discovery import AUTH_METHODS
from tokenrevoke.oauth.global_revocation import (
    EMAIL_FORMATS,
    ISS_SUB,
    MAX_IDENTIFIER_LENGTH,
    SESSION_ID,
    SUPPORTED_FORMATS,
    USER_ID_FORMATS,
)
from tokenrevoke.oauth.session_revocation import CRITERIA
from tokenrevoke.oauth.status_list import STATUSLIST_JSON, STATUSLIST_JWT
from tokenrevoke.oauth.status_lists import STATUS_LIST_AGGREGATION_PATH, STATUS_LIST_PATH
from tokenrevoke.oauth.token_endpoint import SUPPORTED_GRANTS
from tokenrevoke.paths import (
    AUTH,
    END_SESSION_PATH,
    GLOBAL_TOKEN_REVOCATION_PATH,
    REVOKE_SESSION_PATH,
)
from tokenrevoke.web.openapi import (
    BOOLEAN,
    ERROR_TEXT,
    STRING,
    STRINGS,
    document,
    object_schema,
    schema_ref,
)
from tokenrevoke.web.responses import INTROSPECTION_JWT, JSON

FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
_INT64 = {"type": "integer", "format": "int64"}
# Blank identifiers are refused (400), hence a non-space character.
_IDENTIFIER = {"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER_LENGTH,
               "pattern": "\\S"}  # fmt: skip
# The `issuer` property (it may differ from the served base URL): any other is 400.
_ISSUER = {**_IDENTIFIER, "description": "this server's issuer"}
# How a confidential client may authenticate in the form (or JSON body) instead of a header.
_CLIENT_PARAMS = {
    "client_id": STRING,
    "client_secret": STRING,
    "client_assertion_type": STRING,
    "client_assertion": STRING,
}


def _subject_identifier() -> dict[str, Any]:
    """RFC 9493 subject identifier, as Janssen's SubId (`format`, `id`) with the RFC's
    members for the email and iss_sub formats: one alternative per format, with the
    members it needs (else 400)."""

    def alternative(formats: tuple[str, ...], members: dict[str, Any]) -> dict[str, Any]:
        props = {"format": {"type": "string", "enum": list(formats)}, **members}
        return object_schema(props, ["format", *members])

    email = object_schema(
        {"format": {"type": "string", "enum": list(EMAIL_FORMATS)}, "email": _IDENTIFIER,
         "id": _IDENTIFIER},
        ["format"],
    )  # fmt: skip
    email["anyOf"] = [{"required": ["email"]}, {"required": ["id"]}]
    return {
        "description": "supported formats: " + ", ".join(SUPPORTED_FORMATS),
        "oneOf": [
            alternative((*USER_ID_FORMATS, SESSION_ID), {"id": _IDENTIFIER}),
            email,
            alternative((ISS_SUB,), {"iss": _ISSUER, "sub": _IDENTIFIER}),
        ],
    }


SCHEMAS: dict[str, Any] = {
    # Janssen's ErrorResponse, plus our optional `reason` (errorReasonEnabled).
    "ErrorResponse": object_schema(
        {"error": STRING, "error_description": STRING, "reason": STRING},
        ["error", "error_description"],
    ),
    "TokenResponse": object_schema(
        {
            "access_token": STRING,
            "token_type": STRING,
            "expires_in": _INT64,
            "refresh_token": STRING,
            "scope": STRING,
            "id_token": STRING,
        },
        ["access_token", "token_type"],
    ),
    "IntrospectionResponse": object_schema(
        {
            "active": BOOLEAN,
            "scope": STRING,
            "client_id": STRING,
            "username": STRING,
            "token_type": STRING,
            "exp": _INT64,
            "iat": _INT64,
            "nbf": _INT64,
            "sub": STRING,
            "aud": STRING,
            "iss": STRING,
            "jti": STRING,
            "acr_values": STRING,
            "cnf": {"type": "object"},
        },
        ["active"],
    ),
    # As Janssen's JsonWebKey: `exp` in milliseconds, `x5c` a self-signed certificate.
    "JsonWebKey": object_schema(
        {
            "kid": STRING,
            "kty": STRING,
            "use": STRING,
            "alg": STRING,
            "n": STRING,
            "e": STRING,
            "exp": {"type": "integer", "format": "int64"},
            "x5c": {"type": "array", "items": STRING},
        },
        ["alg", "exp", "kid", "kty", "use", "x5c"],
    ),
    "WebKeysConfiguration": object_schema(
        {"keys": {"type": "array", "items": schema_ref("JsonWebKey")}}, ["keys"]
    ),
    # Every member is optional: discoveryAllowedKeys / discoveryDenyKeys may drop any.
    "OpenIdConfiguration": object_schema(
        {
            "issuer": STRING,
            "token_endpoint": STRING,
            "jwks_uri": STRING,
            "revocation_endpoint": STRING,
            "introspection_endpoint": STRING,
            "token_endpoint_auth_methods_supported": STRINGS,
            "token_endpoint_auth_signing_alg_values_supported": STRINGS,
            "revocation_endpoint_auth_methods_supported": STRINGS,
            "revocation_endpoint_auth_signing_alg_values_supported": STRINGS,
            "introspection_endpoint_auth_methods_supported": STRINGS,
            "introspection_endpoint_auth_signing_alg_values_supported": STRINGS,
            "grant_types_supported": STRINGS,
            "response_types_supported": STRINGS,
            "scopes_supported": STRINGS,
            "subject_types_supported": STRINGS,
            "id_token_signing_alg_values_supported": STRINGS,
            "authorization_endpoint": STRING,
            "userinfo_endpoint": STRING,
            "response_modes_supported": STRINGS,
            "code_challenge_methods_supported": STRINGS,
            "prompt_values_supported": STRINGS,
            "claims_supported": STRINGS,
            "authorization_response_iss_parameter_supported": BOOLEAN,
            "request_parameter_supported": BOOLEAN,
            "request_uri_parameter_supported": BOOLEAN,
            "tls_client_certificate_bound_access_tokens": BOOLEAN,
            "mtls_endpoint_aliases": {"type": "object"},
            "end_session_endpoint": STRING,
            "frontchannel_logout_supported": BOOLEAN,
            "backchannel_logout_supported": BOOLEAN,
            "session_revocation_endpoint": STRING,
            "status_list_endpoint": STRING,
            "status_list_aggregation_endpoint": STRING,
        }
    ),
    "UserInfo": {
        **object_schema(
            {"sub": STRING, "preferred_username": STRING, "name": STRING, "email": STRING}, ["sub"]
        )
    },
    "Health": object_schema({"status": STRING}, ["status"]),
    # draft-ietf-oauth-status-list section 4.2 (Janssen's StatusListResponseJson).
    "StatusList": object_schema(
        {"bits": {"type": "integer", "enum": [1, 2, 4, 8]}, "lst": STRING}, ["bits", "lst"]
    ),
    "StatusListAggregation": object_schema(
        {"status_lists": {"type": "array", "items": STRING}}, ["status_lists"]
    ),
    "SubjectIdentifier": _subject_identifier(),
    # Janssen's GlobalTokenRevocationRequest; `subject` is draft-00's name for `sub_id`,
    # and the credential members are client_secret_post / JWT assertions in JSON.
    "GlobalTokenRevocationRequest": object_schema(
        {"sub_id": schema_ref("SubjectIdentifier"), **_CLIENT_PARAMS}, ["sub_id"]
    ),
}

_STATUS_TEXT = {**ERROR_TEXT, 503: "Service Unavailable"}
EVENT_STREAM = "text/event-stream"
PROMETHEUS = "text/plain"
# A client authenticates with HTTP Basic (client_secret_basic), with a Bearer access token
# (revocation, introspection), in the form (client_secret_post, JWT assertions), or, as a
# public client, with `client_id` alone: hence the empty alternative.
_CLIENT: list[dict[str, list[str]]] = [{"basic": []}, {}]
_CLIENT_OR_BEARER: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}, {}]
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": _STATUS_TEXT[code],
            "content": {JSON: {"schema": schema_ref("ErrorResponse")}},
        }
        for code in codes
    }


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema_ref(schema)}}}


def _form(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {FORM: {"schema": object_schema(props, required)}}}


_INTROSPECTION_PARAMS = {
    "token": STRING,
    "token_type_hint": STRING,
    # Janssen's parameter is a boolean; anything but "true" means false.
    "response_as_jwt": BOOLEAN,
}
_INTROSPECTION_OK = {
    "description": "OK: the token's state (a signed JWT of it with response_as_jwt=true)",
    "content": {
        JSON: {"schema": schema_ref("IntrospectionResponse")},
        # A compact JWS: no schema (it is not JSON, and validators would parse it as such).
        INTROSPECTION_JWT: {},
    },
}
# 400 bad request, 401 failed authentication, 403 endpoint disabled (feature flag), 413 body
# too large, 500 unexpected, 503 store unavailable.
_ENDPOINT_ERRORS = (400, 401, 403, 413, 500, 503)


# The authorization request's parameters (Janssen's names and order, those served here).
_AUTHORIZE_PARAMS: dict[str, Any] = {
    "scope": {**STRING, "description": "space-separated; `openid` for an id_token"},
    "response_type": {"type": "string", "enum": ["code"]},
    "client_id": STRING,
    "redirect_uri": {**STRING, "description": "exactly one of the client's redirectUris"},
    "state": STRING,
    "response_mode": {"type": "string", "enum": list(RESPONSE_MODES)},
    "nonce": STRING,
    "prompt": {**STRING, "description": "space-separated: " + ", ".join(sorted(PROMPTS))},
    "max_age": {"type": "integer", "minimum": 0},
    "login_hint": STRING,
    "code_challenge": STRING,
    "code_challenge_method": {"type": "string", "enum": list(pkce.METHODS)},
}
_PAGE = {"content": {HTML: {"schema": STRING}}}
_AUTHORIZE_RESPONSES = {
    "200": {"description": "The sign-in or consent page, or a form_post response", **_PAGE},
    "303": {
        "description": "Back to the client's redirect URI: `code` (or `error`), `state`, `iss`",
        "headers": {"Location": {"schema": STRING}},
    },
    # A request whose client or redirect URI cannot be trusted: the error is shown here, on
    # a page to a browser (Accept: text/html), else as Janssen's JSON error.
    **{
        str(c): {
            "description": _STATUS_TEXT[c],
            "content": {**_PAGE["content"], JSON: {"schema": schema_ref("ErrorResponse")}},
        }
        for c in (400, 413, 500, 503)
    },
}


def _end_session() -> dict[str, dict[str, Any]]:
    """Janssen's `end_session` (GET; POST too, as RP-Initiated Logout 1.0 section 2 asks)."""
    # Longer values are 400 (id_token_hint: MAX_HINT_LENGTH, the others:
    # MAX_PARAMETER_LENGTH characters); not stated as maxLength, which would have fuzzers
    # build URLs longer than the HTTP layer reads.
    params = dict.fromkeys(logout.PARAMETERS, STRING)
    responses = {
        "200": {
            "description": "A page: signed out, or asking the user to confirm (no id_token_hint)",
            "content": {HTML: {"schema": STRING}},
        },
        "302": {"description": "Signed out: to the registered post_logout_redirect_uri"},
        # 400: Janssen's EndSessionError codes (invalid_grant_and_session,
        # post_logout_uri_not_associated_with_client, invalid_request); 403 END_SESSION off.
        **_errors(400, 403, 413, 500, 503),
    }
    get = {
        "tags": ["Session Management"],
        "summary": "End current session (OpenID Connect RP-Initiated Logout)",
        "description": "Ends the session the id_token_hint was issued in (else the browser's, "
        "after the user confirms) and revokes every token issued in it. Parameters: at most "
        f"{logout.MAX_PARAMETER_LENGTH} characters (id_token_hint: {logout.MAX_HINT_LENGTH}).",
        "operationId": "end_session",
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in params.items()
        ],
        "responses": responses,
    }
    form = {**params, "csrf_token": STRING, "confirm": STRING}
    post = {**get, "operationId": "post-end_session", "parameters": [],
            "requestBody": {"content": {FORM: {"schema": object_schema(form, [])}}}}  # fmt: skip
    return {"get": get, "post": post}


def _revoke_session() -> dict[str, Any]:
    return {
        "tags": ["Session Management"],
        "summary": "Revoke every session of a user (and every token issued in them)",
        "description": f"The client needs the `{REVOKE_SESSION}` scope. An unknown user is "
        "200 too.",
        "operationId": "revoke-session",
        "security": _CLIENT_OR_BEARER,
        "requestBody": _form(
            {
                "user_criterion_key": {"type": "string", "enum": list(CRITERIA)},
                "user_criterion_value": {**_IDENTIFIER, "maxLength": 1024},
                **_CLIENT_PARAMS,
            },
            ["user_criterion_key", "user_criterion_value"],
        ),
        # 401 failed client authentication or a public client; 403 REVOKE_SESSION off
        # or the scope missing.
        "responses": {
            "200": {"description": "OK: every session of the user has ended (committed)"},
            **_errors(*_ENDPOINT_ERRORS),
        },
    }


def _paths() -> dict[str, dict[str, Any]]:
    authorize_get = {
        "tags": ["Authorization"],
        "summary": "The Authorization Endpoint: the user signs in (docs/sign-in.md)",
        "operationId": "get_authorize",
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in _AUTHORIZE_PARAMS.items()
        ],
        "responses": _AUTHORIZE_RESPONSES,
    }
    authorize_post = {
        **authorize_get,
        "operationId": "post_authorize",
        "parameters": [],
        "requestBody": _form(_AUTHORIZE_PARAMS, []),
    }
    userinfo_get = {
        "tags": ["User Info"],
        "summary": "The signed-in user's claims, for an access token holding `openid`",
        "operationId": "get-userinfo",
        "security": _BEARER,
        # 401 no live token (WWW-Authenticate: Bearer), 403 no `openid` or USERINFO off.
        "responses": {"200": _json("UserInfo"), **_errors(400, 401, 403, 413, 500, 503)},
    }
    userinfo_post = {
        **userinfo_get,
        "operationId": "post-userinfo",
        "requestBody": {
            "required": False,
            "content": {FORM: {"schema": object_schema({"access_token": STRING}, [])}},
        },
    }
    token = {
        "tags": ["Token"],
        "summary": "Obtain an access token (and a refresh and id token where the grant has them)",
        "operationId": "post-token",
        "security": _CLIENT,
        "requestBody": _form(
            {
                "grant_type": {"type": "string", "enum": list(SUPPORTED_GRANTS)},
                "scope": {**STRING, "description": "space-separated scopes"},
                "username": STRING,
                "password": STRING,
                "refresh_token": STRING,
                "code": STRING,
                "redirect_uri": STRING,
                "code_verifier": STRING,
                **_CLIENT_PARAMS,
            },
            ["grant_type"],
        ),
        "responses": {"200": _json("TokenResponse"), **_errors(400, 401, 413, 500, 503)},
    }
    revoke = {
        "tags": ["Token"],
        "summary": "Revoke an access or refresh token (RFC 7009, with Janssen's rules)",
        "operationId": "revoke",
        "security": _CLIENT_OR_BEARER,
        "requestBody": _form(
            {
                "token": {
                    **STRING,
                    "description": "one token, several separated by spaces, or `all` "
                    "(allowAllValueForRevokeEndpoint)",
                },
                "token_type_hint": STRING,
                **_CLIENT_PARAMS,
            },
            ["token"],
        ),
        # Also for unknown tokens and tokens a script refused to revoke (RFC 7009 2.2).
        "responses": {"200": {"description": "OK (no content)"}, **_errors(*_ENDPOINT_ERRORS)},
    }
    introspection_get = {
        "tags": ["Token"],
        "summary": "The Introspection OAuth 2 Endpoint (RFC 7662)",
        "operationId": "get-introspection",
        "security": _CLIENT_OR_BEARER,
        "parameters": [
            {"name": name, "in": "query", "required": name == "token", "schema": schema}
            for name, schema in _INTROSPECTION_PARAMS.items()
        ],
        "responses": {"200": _INTROSPECTION_OK, **_errors(*_ENDPOINT_ERRORS)},
    }
    introspection_post = {
        **introspection_get,
        "operationId": "post-introspection",
        "parameters": [],
        "requestBody": _form({**_INTROSPECTION_PARAMS, **_CLIENT_PARAMS}, ["token"]),
    }
    global_revocation = {
        "tags": ["Global Token Revocation"],
        "summary": "Revoke every token and end every session of one user "
        "(draft-parecki-oauth-global-token-revocation)",
        "description": f"The client needs the `{GLOBAL_TOKEN_REVOCATION}` scope (and a Bearer "
        "token must have been granted it). An unknown user is 204 too.",
        "operationId": "global-token-revocation",
        "security": _CLIENT_OR_BEARER,
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": schema_ref("GlobalTokenRevocationRequest")}},
        },
        # 401 failed client authentication or a public client, 403 GLOBAL_TOKEN_REVOCATION
        # off or the scope missing, 415 a body that is not application/json.
        "responses": {
            "204": {"description": "Every token of the user is revoked (committed)"},
            **_errors(400, 401, 403, 413, 415, 500, 503),
        },
    }
    revocation_events = {
        "tags": ["Revocation Events"],
        "summary": "Server-Sent Events stream of revocation events (docs/events.md)",
        "description": f"A Bearer access token with the scope `{REVOCATION_EVENTS}`. The "
        "stream stays open: events (`event: tokens-revoked`, `id:` its position) and "
        "heartbeats, until the token is revoked or expires.",
        "operationId": "revocation-events",
        "security": _BEARER,
        "parameters": [
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "resume after this event position",
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
            }
        ],
        "responses": {
            "200": {"description": "The event stream", "content": {EVENT_STREAM: {}}},
            # 400 a Last-Event-ID that is no position; 401 no live access token;
            # 403 the token lacks the scope.
            **_errors(400, 401, 403, 500, 503),
        },
    }
    metrics = {
        "tags": ["Observability"],
        "summary": "Prometheus metrics (text exposition format)",
        "description": "Only for the addresses in `metrics_allow` (default: loopback); "
        "403 elsewhere, and for requests relayed by an untrusted proxy.",
        "operationId": "metrics",
        "responses": {
            "200": {"description": "OK", "content": {PROMETHEUS: {"schema": STRING}}},
            **_errors(403, 500),
        },
    }
    jwks = {
        "tags": ["JWK - JSON Web Key Set (JWKs)"],
        "summary": "The server's public signing keys",
        "operationId": "jwks",
        "responses": {"200": _json("WebKeysConfiguration"), **_errors(500, 503)},
    }

    def status_list(operation_id: str, summary: str, by_id: bool) -> dict[str, Any]:
        list_id = {"type": "string", "pattern": "^[0-9]{1,15}$"}  # else 404
        parameters = [{"name": "list_id", "in": "path", "required": True, "schema": list_id}]
        return {
            "tags": ["Status List"],
            "summary": summary,
            "description": "A signed Status List Token (application/statuslist+jwt, the "
            "default) or, with Accept: application/statuslist+json, the list itself. "
            "Cache-Control: public, max-age=ttl; an ETag (If-None-Match: 304). "
            "403 while the STATUS_LIST flag is off.",
            "operationId": operation_id,
            **({"parameters": parameters} if by_id else {}),
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        STATUSLIST_JSON: {"schema": schema_ref("StatusList")},
                        STATUSLIST_JWT: {},  # a compact JWS
                    },
                },
                "304": {"description": "Not modified (If-None-Match)"},
                **_errors(403, 404, 500, 503),
            },
        }

    aggregation = {
        "tags": ["Status List Aggregation"],
        "summary": "Every status list's URI (draft-ietf-oauth-status-list section 9)",
        "operationId": "get-status-list-aggregation",
        "responses": {"200": _json("StatusListAggregation"), **_errors(403, 500, 503)},
    }

    def discovery(operation_id: str) -> dict[str, Any]:
        return {
            "tags": ["Server Configuration"],
            "summary": "OpenID Connect / OAuth 2.0 authorization server metadata",
            "operationId": operation_id,
            "responses": {"200": _json("OpenIdConfiguration"), **_errors(500, 503)},
        }

    def health(operation_id: str, summary: str) -> dict[str, Any]:
        return {
            "tags": ["Health"],
            "summary": summary,
            "operationId": operation_id,
            "responses": {"200": _json("Health"), **_errors(500, 503)},
        }

    return {
        f"{AUTH}/authorize": {"get": authorize_get, "post": authorize_post},
        f"{AUTH}/token": {"post": token},
        f"{AUTH}/userinfo": {"get": userinfo_get, "post": userinfo_post},
        f"{AUTH}/revoke": {"post": revoke},
        f"{AUTH}/introspection": {"get": introspection_get, "post": introspection_post},
        GLOBAL_TOKEN_REVOCATION_PATH: {"post": global_revocation},
        END_SESSION_PATH: _end_session(),
        REVOKE_SESSION_PATH: {"post": _revoke_session()},
        f"{AUTH}/revocation-events": {"get": revocation_events},
        f"{AUTH}/jwks": {"get": jwks},
        STATUS_LIST_PATH: {"get": status_list("get-status-list", "The current status list", False)},
        f"{STATUS_LIST_PATH}/{{list_id}}": {
            "get": status_list("get-status-list-by-id", "A status list, by its id", True)
        },
        STATUS_LIST_AGGREGATION_PATH: {"get": aggregation},
        # Janssen's swagger lists this path under a copied operation id
        # (`well-known-gluu-configuration`, method post); ours is GET, as served.
        "/.well-known/openid-configuration": {"get": discovery("openid-configuration")},
        "/jans-auth/.well-known/openid-configuration": {
            "get": discovery("jans-auth-openid-configuration")
        },
        # RFC 8414 section 3 (an issuer with a path: the path follows, section 3.1).
        "/.well-known/oauth-authorization-server": {"get": discovery("oauth-authorization-server")},
        "/health/live": {"get": health("health-live", "The process is up")},
        "/health/ready": {"get": health("health-ready", "The store answers (503 if not)")},
        "/metrics": {"get": metrics},
    }


def auth_openapi_document(issuer: str) -> dict[str, Any]:
    schemes = {
        "basic": {
            "type": "http",
            "scheme": "basic",
            "description": "client_secret_basic: the client id and secret",
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "an access token (revocation, introspection, global token "
            "revocation; the event stream)",
        },
    }
    doc = document(
        "tokenrevoke authorization server (Janssen jans-auth-server compatible)",
        issuer,
        _paths(),
        SCHEMAS,
        schemes,
    )
    doc["info"]["description"] = (
        "Client authentication methods: " + ", ".join(AUTH_METHODS) + ". Every response "
        "carries Cache-Control: no-store, but the JWKS and the status lists (cacheable)."
    )
    return doc
