"""Conformance of token, revocation, introspection, global token revocation and (fewer
examples) authorize, userinfo, end_session, the status lists and the JWKS to Janssen's own
auth-server document (`../shared/janssen/jans-auth-server-swagger.yaml`), through a real
server, on SQLite and PostgreSQL. Redirects are answers under test, never followed.

schemathesis generates requests from Janssen's schemas (positive and negative data), with a
client's Basic credentials, a Bearer token and no credentials, and checks: no 5xx, Janssen's
content type and Janssen's response schema for every status it documents. Live tokens are
issued and introspected through the same operations, so the success bodies are checked
too. The operations' examples in the document (it has no request-body examples for them,
only parameter and property examples) are sent and must be accepted.

Janssen's document leaves out statuses Janssen itself answers; those few are accepted per
operation (UNDOCUMENTED_BUT_JANSSENS, each with why), nothing else undocumented is. Where
the document describes what Janssen does not put on the wire, the copy of the document used
here says what Janssen does (`_as_janssen_answers`, each change with why); nothing else in
it changes.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.support.fuzzing import run_operation
from tests.support.fuzzing import server as server  # the fixture: this suite's own server
from tests.support.janssen import AUTH_SERVER_DOC, janssen_doc, janssen_schema
from tests.support.server import AUTH, Client, Server

# The operations of Janssen's document that we serve (docs/janssen-compatibility.md,
# "Operations of Janssen's documents"), by Janssen's operationId.
SERVED = ["post-token", "revoke", "get-introspection", "post-introspection",
          "global-token-revocation"]  # fmt: skip
# Those added with sign-in and the status list (docs/sign-in.md, docs/status-list.md):
# fuzzed with fewer examples and without Basic credentials (none of them takes a client's).
# Not served: `well-known-gluu-configuration` (POST .../restv1/.well-known/openid-
# configuration, Janssen's GluuConfigurationWS); discovery is GET at the host's root.
SIGN_IN_AND_LISTS = ["get_authorize", "post_authorize", "get-userinfo", "post-userinfo",
                     "end_session", "get-status-list", "get-status-list-aggregation",
                     "jwks"]  # fmt: skip
INTROSPECTION_JWT = "application/token-introspection+jwt"
FORM = "application/x-www-form-urlencoded"

# Statuses Janssen itself answers at these operations that its document does not list.
UNDOCUMENTED_BUT_JANSSENS: dict[str, set[int]] = {
    # RevokeRestWebServiceImpl: 401 invalid_client when client authentication fails, 403
    # access_denied while REVOKE_TOKEN is off; the document lists 200 and 400 only.
    "revoke": {401, 403},
    # GlobalTokenRevocationService: 400 invalid_request for a missing or bad `sub_id`, 403
    # while GLOBAL_TOKEN_REVOCATION is off or without the `global_token_revocation`
    # scope; the document lists 204, 401 and 500 only.
    "global-token-revocation": {400, 403},
    # 403 access_denied while the INTROSPECTION flag is off.
    "get-introspection": {403},
    "post-introspection": {403},
    "post-token": set(),
    # Ours: a redirect back to the client is 303 See Other (RFC 9700 section 4.12: a POST
    # is never re-sent to the client), where Janssen's is 302.
    "get_authorize": {303},
    "post_authorize": {303},
    "get-userinfo": set(),
    "post-userinfo": set(),
    "end_session": set(),
    "get-status-list": set(),
    "get-status-list-aggregation": set(),
    "jwks": set(),
}


def _as_janssen_answers(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of Janssen's document that describes what Janssen puts on the wire where the
    document does not (docs/janssen-compatibility.md, "OpenAPI descriptions")."""
    doc = copy.deepcopy(doc)
    paths = doc["paths"]
    string_scope = {"type": "string"}
    # `scope` is one space-separated string in the token response (RFC 6749 section 5.1)
    # and in introspection (RFC 7662 section 2.2): Janssen joins the scopes into one string
    # (IntrospectionWebService, "Make scopes conform as required by spec"), its own docs show
    # a string; the document says array.
    ok = paths["/token"]["post"]["responses"][200]["content"]["application/json"]["schema"]
    ok["properties"]["scope"] = string_scope
    for method in ("get", "post"):
        content = paths["/introspection"][method]["responses"][200]["content"]
        content["application/json"]["schema"]["properties"]["scope"] = string_scope
        # response_as_jwt=true: Janssen answers a signed JWT as
        # application/token-introspection+jwt (RFC 9701 section 5); not in the document.
        content[INTROSPECTION_JWT] = {}
    # The document's 200 names a media type "content" (`content: {content: {}}`, a slip);
    # Janssen answers 200 with no body and so no Content-Type (RFC 7009 section 2.2).
    paths["/revoke"]["post"]["responses"][200]["content"] = {}
    # Authorize redirects back to the client with a Location and no body (RedirectUtil);
    # the document gives its 302 an AuthorizeError JSON body.
    for method in ("get", "post"):
        paths["/authorize"][method]["responses"][302]["content"] = {}
    # UserInfoRestWebServiceImpl answers application/json unless the client asked for
    # signed or encrypted userinfo (then application/jwt, a compact JWT, not an object);
    # `sub` is a string (OpenID Connect Core 5.1; Janssen's inum or pairwise id).
    for method in ("get", "post"):
        content = paths["/userinfo"][method]["responses"][200]["content"]
        claims = copy.deepcopy(content["application/jwt"]["schema"])
        claims["properties"]["sub"] = {"type": "string"}
        content.update({"application/json": {"schema": claims}, "application/jwt": {}})
    # StatusListService answers the Status List Token as its compact JWT (text); the
    # document types it as a JSON object.
    status = paths["/status_list"]["get"]["responses"][200]["content"]
    status["application/statuslist+jwt"] = {"schema": {"type": "string"}}
    return doc


def _operations(served: list[str]) -> list[Any]:
    """(method, path, operationId) of `served` in Janssen's document, as pytest params; a
    placeholder that skips where the document is absent."""
    try:
        paths = janssen_doc(AUTH_SERVER_DOC)["paths"]
    except pytest.skip.Exception:
        return [pytest.param("GET", "", "", id="janssen-document-absent")]
    out = []
    for path, item in paths.items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") in served:
                op_id = operation["operationId"]
                out.append(pytest.param(method.upper(), path, op_id, id=op_id))
    assert len(out) == len(served), out
    return out


OPS = _operations(SERVED)
SIGN_IN_OPS = _operations(SIGN_IN_AND_LISTS)


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    loaded = schemathesis.openapi.from_dict(_as_janssen_answers(janssen_doc(AUTH_SERVER_DOC)))
    loaded.config.update(base_url=f"{server.url}{AUTH}")
    return loaded


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client(
        grant_types=["client_credentials", "password", "refresh_token"],
        scopes=["openid", "global_token_revocation", "introspection"],
    )


@pytest.fixture(scope="module")
def credentials(server: Server, client: Client) -> dict[str, dict[str, str]]:
    pair = f"{client.client_id}:{client.secret}".encode()
    token = server.fetch_token(client, scope="openid global_token_revocation introspection")[
        "access_token"
    ]
    return {
        "basic": {"Authorization": "Basic " + base64.b64encode(pair).decode()},
        "bearer": {"Authorization": "Bearer " + token},
        "none": {},
    }


def _documented(case: Case[Any], response: Any) -> None:
    operation = case.operation.definition.raw
    documented = {str(s) for s in operation.get("responses", {})}
    status = response.status_code
    allowed = UNDOCUMENTED_BUT_JANSSENS[operation["operationId"]]
    assert str(status) in documented or status in allowed, (
        case.method,
        case.formatted_path,
        status,
        response.text[:300],
    )
    assert "Traceback" not in response.text
    if str(status) not in documented and status >= 400:
        # Janssen answers these with its error JSON: the document's ErrorResponse.
        assert response.headers.get("content-type") == ["application/json"], response.headers
        _is_error_response(response.json())


def _is_error_response(body: Any) -> None:
    """`body` is Janssen's ErrorResponse: an object with its required members, each of its
    members a string (the only type that schema has)."""
    shape = janssen_schema(AUTH_SERVER_DOC, "ErrorResponse")
    assert isinstance(body, dict) and set(shape["required"]) <= body.keys(), body
    for name, member in shape["properties"].items():
        assert member["type"] == "string"
        assert name not in body or isinstance(body[name], str), body


# Status codes are checked by `_documented` (Janssen's document omits some of its own).
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def _run(
    schema: Any, method: str, path: str, mode: GenerationMode, headers: dict[str, str]
) -> list[int]:
    return run_operation(
        schema, method, path, mode, headers, max_examples=20, inspect=_documented, checks=CHECKS
    )


def _call(schema: Any, method: str, path: str, headers: dict[str, str], **data: Any) -> Any:
    """One request of the caller's, checked as the generated ones are."""
    case = schema[path][method].Case(**data)
    response = case.call_and_validate(
        checks=CHECKS, headers=headers, timeout=10, allow_redirects=False
    )
    _documented(case, response)
    return response


@pytest.mark.parametrize(("method", "path", "op_id"), OPS)
@pytest.mark.parametrize("credential", ["basic", "bearer", "none"])
def test_janssens_schemas_positive(
    schema: Any,
    credentials: dict[str, dict[str, str]],
    credential: str,
    method: str,
    path: str,
    op_id: str,
) -> None:
    statuses = _run(schema, method, path, GenerationMode.POSITIVE, credentials[credential])
    assert statuses
    if credential == "none" and op_id != "revoke":  # /revoke: a public client_id is enough
        assert not any(200 <= s < 300 for s in statuses), statuses


@pytest.mark.parametrize(("method", "path", "op_id"), OPS)
def test_janssens_schemas_negative(
    schema: Any, credentials: dict[str, dict[str, str]], method: str, path: str, op_id: str
) -> None:
    """Janssen's parameters are lenient (a `response_as_jwt` that is not `true` is false,
    an Authorization header is ours, not the generated one): only the global revocation's
    body has something whose violation must be refused."""
    statuses = _run(schema, method, path, GenerationMode.NEGATIVE, credentials["basic"])
    assert statuses
    if op_id == "global-token-revocation":
        assert not any(200 <= s < 300 for s in statuses), statuses


def test_live_tokens_conform(
    server: Server, schema: Any, credentials: dict[str, dict[str, str]]
) -> None:
    """The success bodies: tokens issued (client credentials, password, refresh),
    introspected (JSON and JWT) and revoked through Janssen's operations, each answer
    checked against Janssen's schema."""
    basic = credentials["basic"]
    issued = _call(schema, "POST", "/token", basic,
                   body={"grant_type": ["client_credentials"], "scope": ["openid"]})  # fmt: skip
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    server.create_user("jdoe", "jdoe-password-1")
    owned = _call(schema, "POST", "/token", basic, body={
        "grant_type": ["password"], "username": "jdoe", "password": "jdoe-password-1",
        "scope": ["openid"]})  # fmt: skip
    assert owned.status_code == 200 and "refresh_token" in owned.json(), owned.text
    refresh = {"grant_type": ["refresh_token"], "refresh_token": owned.json()["refresh_token"]}
    refreshed = _call(schema, "POST", "/token", basic, body=refresh)
    assert refreshed.status_code == 200, refreshed.text
    user_token = refreshed.json()["access_token"]
    seen = _call(schema, "POST", "/introspection", basic, body={"token": user_token})
    assert seen.json()["active"] is True and seen.json()["username"] == "jdoe", seen.text
    for method, where in (("GET", "query"), ("POST", "body")):
        seen = _call(schema, method, "/introspection", basic, **{where: {"token": token}})
        assert seen.status_code == 200 and seen.json()["active"] is True, seen.text
    as_jwt = _call(schema, "GET", "/introspection", basic,
                   query={"token": token, "response_as_jwt": "true"})  # fmt: skip
    assert as_jwt.status_code == 200
    assert as_jwt.headers["content-type"] == [INTROSPECTION_JWT], as_jwt.headers
    assert as_jwt.text.count(".") == 2  # a compact JWS
    revoked = _call(schema, "POST", "/revoke", basic, body={"token": token})
    assert revoked.status_code == 200 and revoked.content == b""
    gone = _call(schema, "POST", "/introspection", basic, body={"token": token})
    assert gone.json() == {"active": False}


def _example(schema_or_param: dict[str, Any]) -> Any:
    """A parameter's or property's `example`; Janssen writes some as `name=value` (the
    query-string form), which is the value `value`."""
    value = schema_or_param.get("example", schema_or_param.get("schema", {}).get("example"))
    if isinstance(value, str) and value.startswith(f"{schema_or_param.get('name')}="):
        return value.split("=", 1)[1]
    return value


def _operation(path: str, method: str) -> dict[str, Any]:
    found = janssen_doc(AUTH_SERVER_DOC)["paths"][path][method]
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize("credential", ["basic", "bearer"])
def test_janssens_examples_are_accepted(
    schema: Any, credentials: dict[str, dict[str, str]], credential: str
) -> None:
    """Every example the document gives for these operations, with our client's credentials
    where the document's Authorization example is a placeholder token (`Bearer
    23410913-abewfq.123483`, which names no token here or anywhere: 401). `revoke` has no
    examples."""
    headers = credentials[credential]
    # Global token revocation: `sub_id` {format: uid, id: 46dkfde5}. No such user: 204 all
    # the same (no enumeration), after everything of that uid is revoked.
    sub_id = _operation("/global-token-revocation", "post")["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["sub_id"]  # fmt: skip
    body = {"sub_id": {k: _example(v) for k, v in sub_id["properties"].items()}}
    assert body == {"sub_id": {"format": "uid", "id": "46dkfde5"}}
    answer = _call(schema, "POST", "/global-token-revocation", headers, body=body)
    assert answer.status_code == 204, answer.text

    # Introspection: token=2YotnFZFEjr1zCsicMWpAA (unknown here: inactive), and for GET
    # response_as_jwt=false.
    for method, where in (("get", "query"), ("post", "body")):
        operation = _operation("/introspection", method)
        params = {p["name"]: _example(p) for p in operation["parameters"] if p["in"] == "query"}
        if method == "post":
            token = operation["requestBody"]["content"][FORM]["schema"]["properties"]["token"]
            params = {"token": _example({"name": "token", **token})}
        data = {k: v for k, v in params.items() if v is not None}
        assert data["token"] == "2YotnFZFEjr1zCsicMWpAA"
        seen = _call(schema, method.upper(), "/introspection", headers, **{where: data})
        assert seen.status_code == 200 and seen.json() == {"active": False}, seen.text

    # Token: the grant_type example lists authorization_code and client_credentials. We
    # serve client_credentials (200). authorization_code needs a code from an authorization
    # endpoint, which tokenrevoke does not have (docs/janssen-compatibility.md): refused,
    # shaped as Janssen's document says.
    form = _operation("/token", "post")["requestBody"]["content"][FORM]["schema"]
    grants = form["properties"]["grant_type"]["example"]
    assert grants == ["authorization_code", "client_credentials"]
    if credential != "basic":  # the token endpoint takes the client's own credentials
        return
    for grant in grants:
        answer = _call(schema, "POST", "/token", headers, body={"grant_type": [grant]})
        if grant == "client_credentials":
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 400 and answer.json()["error"], answer.text


# -- sign-in, userinfo, sign-out, the status lists and the keys ------------------------


def _run_sign_in(
    schema: Any, method: str, path: str, mode: GenerationMode, headers: dict[str, str]
) -> list[int]:
    # A redirect is the answer under test (authorize, end_session), never followed.
    return run_operation(schema, method, path, mode, headers, max_examples=15,
                         inspect=_documented, checks=CHECKS, follow_redirects=False)  # fmt: skip


@pytest.mark.parametrize(("method", "path", "op_id"), SIGN_IN_OPS)
@pytest.mark.parametrize("credential", ["bearer", "none"])
def test_sign_in_and_lists_positive(
    schema: Any,
    credentials: dict[str, dict[str, str]],
    credential: str,
    method: str,
    path: str,
    op_id: str,
) -> None:
    statuses = _run_sign_in(schema, method, path, GenerationMode.POSITIVE, credentials[credential])
    assert statuses
    if op_id.endswith("userinfo") and credential == "none":
        assert not any(200 <= s < 300 for s in statuses), statuses


@pytest.mark.parametrize(
    ("method", "path", "op_id"), [op for op in SIGN_IN_OPS if op.id != "jwks"]
)  # `jwks` has no parameter to get wrong
def test_sign_in_and_lists_negative(
    schema: Any, credentials: dict[str, dict[str, str]], method: str, path: str, op_id: str
) -> None:
    statuses = _run_sign_in(schema, method, path, GenerationMode.NEGATIVE, credentials["none"])
    assert statuses


def test_live_sign_in_and_lists_conform(server: Server, schema: Any, client: Client) -> None:
    """The success answers: the sign-in page and a redirect back, userinfo of a user's
    token (GET and POST), sign-out, both forms of the status list, its aggregation and the
    keys, each checked against Janssen's document."""
    app = "https://app.example/callback"  # never fetched: the redirect is read, not followed
    rp = server.create_client("--redirect-uri", app, name="Conformance app",
                              grant_types=["authorization_code"], scopes=["openid"])  # fmt: skip
    query = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": app,
             "scope": "openid", "state": "st-1"}  # fmt: skip
    for method, where in (("GET", "query"), ("POST", "body")):
        page = _call(schema, method, "/authorize", {}, **{where: query})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"][0]
        back = _call(schema, method, "/authorize", {}, **{where: {**query, "prompt": "none"}})
        assert back.status_code == 303, back.text
        assert back.headers["location"][0].startswith(f"{app}?error=login_required"), back.headers
        unknown = _call(schema, method, "/authorize", {}, **{where: {**query, "client_id": "x"}})
        assert unknown.status_code == 400 and unknown.json()["error"], unknown.text

    server.create_user("jroe", "jroe-password-1")
    user = server.password_token(client, "jroe", "jroe-password-1", scope="openid")
    bearer = {"Authorization": f"Bearer {user['access_token']}"}
    for answer in (
        _call(schema, "GET", "/userinfo", bearer),
        _call(schema, "POST", "/userinfo", {}, body={"access_token": user["access_token"]}),
    ):
        assert answer.status_code == 200 and answer.json()["sub"], answer.text
    in_url = _call(schema, "GET", "/userinfo", {}, query={"access_token": user["access_token"]})
    assert in_url.status_code == 400, in_url.text  # ours: never in a URL (RFC 9700 4.3.2)

    signed_out = _call(schema, "GET", "/end_session", {})
    assert signed_out.status_code == 200, signed_out.text

    as_json = _call(schema, "GET", "/status_list", {"Accept": "application/statuslist+json"})
    assert as_json.status_code == 200 and as_json.json()["lst"], as_json.text
    as_jwt = _call(schema, "GET", "/status_list", {"Accept": "application/statuslist+jwt"})
    assert as_jwt.status_code == 200 and as_jwt.text.count(".") == 2, as_jwt.text
    lists = _call(schema, "GET", "/status_list_aggregation", {"Accept": "application/json"})
    assert lists.status_code == 200 and lists.json()["status_lists"], lists.text
    keys = _call(schema, "GET", "/jwks", {})
    assert keys.status_code == 200 and all(k["exp"] > 0 for k in keys.json()["keys"])
