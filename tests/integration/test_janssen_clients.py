"""Janssen's own client and scope documents, through a real server: every request example
of Janssen's config-API document for these operations is accepted, every member of
Janssen's Client schema survives POST, GET, PUT and PATCH (Janssen's example, and a
property test over the schema), and a wrong type is a 400 that says what is wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.test_configapi_support import (
    ConfigApi,
    admin_api,
    assert_api_error,
)
from tests.support.janssen import CONFIG_API_DOC, janssen_schema, request_examples
from tests.support.server import Client, Server
from tests.support.stores import STORES, server_on

PROPERTIES = "/jans-auth-server/config"
# Janssen's example lists a scope of Janssen's default data by DN; here it names ours.
JANSSEN_SCOPE_DN = "inum=C4F7,ou=scopes,o=jans"
# Members of Janssen's example we normalise or compute (docs/janssen-compatibility.md).
COMPUTED = {"dn", "baseDn", "inum", "clientSecret", "clientName", "deletable"}


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """This module runs once per store: what is kept as given must come back from both."""
    with server_on(request.param, tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server: Server) -> ConfigApi:
    return admin_api(server)


def _set_secret_minimum(api: ConfigApi, length: int) -> None:
    patch = [{"op": "replace", "path": "/clientSecretMinimumLength", "value": length}]
    api.ok("PATCH", PROPERTIES, patch=patch)


@pytest.fixture
def relaxed(api: ConfigApi) -> Iterator[None]:
    """The secret rule relaxed to Janssen's example (8 characters), then restored."""
    _set_secret_minimum(api, 8)
    try:
        yield
    finally:
        _set_secret_minimum(api, 16)


def _example(api: ConfigApi, operation_id: str) -> dict[str, Any]:
    (example,) = request_examples(CONFIG_API_DOC, operation_id)
    assert isinstance(example, dict)
    if "scopes" in example:
        openid = api.scope_dn("openid")
        example["scopes"] = [openid if s == JANSSEN_SCOPE_DN else s for s in example["scopes"]]
    return example


def _schema_members(document: dict[str, Any]) -> dict[str, Any]:
    members = janssen_schema(CONFIG_API_DOC, "Client")["properties"]
    return {k: v for k, v in document.items() if k in members and k not in COMPUTED}


def _without_secret(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "clientSecret"}


# -- the secret rule ---------------------------------------------------------------------
def test_janssens_example_secret_is_refused_by_default(api: ConfigApi) -> None:
    error = assert_api_error(
        api.call("POST", "/openid/clients", json=_example(api, "post-oauth-openid-client")), 400
    )
    assert "16 characters" in error["description"]
    assert "clientSecretMinimumLength" in error["description"]


def test_the_secret_minimum_is_a_validated_property(api: ConfigApi) -> None:
    for bad in (0, -1, "8", True):
        patch = [{"op": "replace", "path": "/clientSecretMinimumLength", "value": bad}]
        assert_api_error(api.call("PATCH", PROPERTIES, patch=patch), 400)
    assert api.ok("GET", PROPERTIES)["clientSecretMinimumLength"] == 16


# -- Janssen's examples ------------------------------------------------------------------
@pytest.mark.usefixtures("relaxed")
def test_janssens_client_example_round_trips(server: Server, api: ConfigApi) -> None:
    example = _example(api, "post-oauth-openid-client")
    created = api.ok("POST", "/openid/clients", 201, json=example)
    assert created["clientSecret"] == "test1234"
    fetched = api.ok("GET", f"/openid/clients/{created['inum']}")
    assert _without_secret(created) == fetched
    # Every member of the example in Janssen's schema comes back as given...
    for name, value in _schema_members(example).items():
        if name == "attributes":
            assert value.items() <= fetched["attributes"].items()
        else:
            assert fetched[name] == value, name
    for name in (
        "redirectUris", "responseTypes", "applicationType", "subjectType",
        "idTokenSignedResponseAlg", "persistClientAuthorizations", "customAttributes",
    ):  # fmt: skip
        assert fetched[name] == example[name]
    # ... the names the same way Janssen keeps them (one name, shown as both)...
    assert fetched["clientName"] == fetched["displayName"] == "Api Client"
    # ... and what we act on acts: the example's secret, grant and scope.
    token = server.fetch_token(Client(created["inum"], "test1234"), scope="openid")
    assert token["scope"] == "openid"


@pytest.mark.usefixtures("relaxed")
def test_get_then_put_of_janssens_example_changes_nothing(api: ConfigApi) -> None:
    created = api.ok("POST", "/openid/clients", 201, json=_example(api, "post-oauth-openid-client"))
    fetched = api.ok("GET", f"/openid/clients/{created['inum']}")
    assert api.ok("PUT", "/openid/clients", json=fetched) == fetched
    assert api.ok("GET", f"/openid/clients/{created['inum']}") == fetched


@pytest.mark.usefixtures("relaxed")
def test_janssens_put_and_patch_examples_are_accepted(server: Server, api: ConfigApi) -> None:
    created = api.ok("POST", "/openid/clients", 201, json=_example(api, "post-oauth-openid-client"))
    inum = created["inum"]
    put = _example(api, "put-oauth-openid-client")
    dn = f"inum={inum},ou=clients,o=jans"
    put.update(inum=inum, dn=dn, baseDn=dn)  # the example names a client of Janssen's data
    replaced = api.ok("PUT", "/openid/clients", json=put)
    for name, value in _schema_members(put).items():
        if name != "attributes":
            assert replaced[name] == value, name
    server.fetch_token(Client(inum, "test1234"))  # the secret given with PUT is in force
    (patch,) = request_examples(CONFIG_API_DOC, "patch-oauth-openid-client-by-inum")
    patched = api.ok("PATCH", f"/openid/clients/{inum}", patch=patch)
    assert patched["responseTypes"] == ["code", "token"]
    assert {k: v for k, v in patched.items() if k != "responseTypes"} == {
        k: v for k, v in replaced.items() if k not in ("responseTypes", "clientSecret")
    }


def test_janssens_scope_examples_are_accepted_and_kept(api: ConfigApi) -> None:
    example = _example(api, "post-oauth-scopes")
    created = api.ok("POST", "/scopes", 201, json=example)
    assert created["baseDn"] == created["dn"] == f"inum={created['inum']},ou=scopes,o=jans"
    for name, value in example.items():
        if name == "attributes":
            assert value.items() <= created["attributes"].items()
        else:
            assert created[name] == value, name
    assert api.ok("GET", f"/scopes/{created['inum']}") == created
    put = _example(api, "put-oauth-scopes")
    dn = f"inum={created['inum']},ou=scopes,o=jans"
    put.update(inum=created["inum"], dn=dn, baseDn=dn)  # names a scope of Janssen's data
    replaced = api.ok("PUT", "/scopes", json=put)
    for name in ("iconUrl", "umaAuthorizationPolicies", "creatorId", "creatorType", "id"):
        assert replaced[name] == put[name], name
    assert replaced["creationDate"] == created["creationDate"]  # ours, never the body's
    (patch,) = request_examples(CONFIG_API_DOC, "patch-oauth-scopes-by-id")
    patched = api.ok("PATCH", f"/scopes/{created['inum']}", patch=patch)
    assert patched["umaAuthorizationPolicies"] == ["inum=2DAF-F995,ou=scripts,o=jans"]
    assert api.ok("GET", f"/scopes/{created['inum']}") == patched
    api.ok("DELETE", f"/scopes/{created['inum']}", 204)


# -- wrong types -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        ("redirectUris", "https://app.example/cb", "redirectUris must be an array"),
        ("responseTypes", ["code", "nonsense"], "responseTypes[1] must be one of code"),
        ("applicationType", "desktop", "applicationType must be one of native, web"),
        ("persistClientAuthorizations", "yes", "must be true or false"),
        ("defaultMaxAge", 2**31, "defaultMaxAge must be a 32-bit integer"),
        ("clientIdIssuedAt", "yesterday", "clientIdIssuedAt must be a date-time"),
        ("customAttributes", [1], "customAttributes[0] must be an object"),
        ("clientNameLocalized", {"values": {"fr": 1}}, "must be an object of strings"),
        ("attributes", {"parLifetime": "600"}, "attributes.parLifetime must be an integer"),
        ("attributes", [], "attributes must be an object"),
        ("grantTypes", ["magic"], "grantTypes[0] must be one of"),
        ("scopes", "openid", "scopes must be an array"),
    ],
)
def test_a_wrong_type_is_a_400_that_names_the_member(
    api: ConfigApi, member: str, value: Any, message: str
) -> None:
    error = assert_api_error(
        api.call("POST", "/openid/clients", json={"clientName": "typed", member: value}), 400
    )
    assert message in error["description"], error
    created = api.create_client(clientName="typed")
    patch = [{"op": "replace", "path": f"/{member}", "value": value}]
    error = assert_api_error(
        api.call("PATCH", f"/openid/clients/{created.client_id}", patch=patch), 400
    )
    assert message in error["description"], error
    api.ok("DELETE", f"/openid/clients/{created.client_id}", 204)


def test_a_scope_of_the_wrong_type_is_a_400(api: ConfigApi) -> None:
    body = {"id": "typed-scope", "umaAuthorizationPolicies": "inum=1,ou=scripts,o=jans"}
    error = assert_api_error(api.call("POST", "/scopes", json=body), 400)
    assert "umaAuthorizationPolicies must be an array" in error["description"]


# -- any client of Janssen's schema ------------------------------------------------------
# No NUL: the config API refuses a body holding \u0000 (PostgreSQL's text cannot hold it).
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_TEXT, inner, max_size=2),
    max_leaves=4,
)
_DATES = st.datetimes(datetime(1970, 1, 1), datetime(9999, 1, 1)).map(
    lambda d: d.replace(microsecond=0).isoformat()
) | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))


def _strategy(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one property of Janssen's schema, by its type."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[1]
        if name == "CustomObjectAttribute":
            return st.fixed_dictionaries(
                {},
                optional={
                    "name": _TEXT, "multiValued": st.booleans(), "displayValue": _TEXT,
                    "values": st.lists(_JSON, max_size=2), "value": _JSON,
                },
            )  # fmt: skip
        return _object(janssen_schema(CONFIG_API_DOC, name))
    kind = prop.get("type")
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    if kind == "array":
        return st.lists(_strategy(prop["items"]), max_size=3)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(-(2**31), 2**31 - 1)
    if kind == "object":
        values = prop.get("additionalProperties")
        return st.dictionaries(_TEXT, _TEXT if values else _JSON, max_size=2)
    if prop.get("format") == "date-time":
        return _DATES
    return _TEXT


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={name: _strategy(prop) for name, prop in schema["properties"].items()}
    )


def _acted_on(scope_dns: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid values for the members this server interprets (the rest is any value of the
    schema's type)."""
    lifetimes = st.none() | st.integers(1, 2**31 - 1)
    return st.fixed_dictionaries(
        {
            "tokenEndpointAuthMethod": st.sampled_from(
                ["client_secret_basic", "client_secret_post"]
            ),
            "scopes": st.lists(st.sampled_from(["openid", "profile", *scope_dns]), max_size=3),
            "accessTokenLifetime": lifetimes,
            "refreshTokenLifetime": lifetimes,
            "idTokenLifetime": lifetimes,
            "jwks": st.none() | st.just('{"keys":[]}'),
            # Checked when saved (an absolute http(s) URL, docs/security.md S11): any text
            # of the schema's type would be refused, rightly.
            "jwksUri": st.none(),
        }
    )


def _client_document(raw: dict[str, Any], acted_on: dict[str, Any]) -> dict[str, Any]:
    document = {k: v for k, v in raw.items() if k not in ("dn", "baseDn", "inum", "clientSecret")}
    attributes = dict(document.get("attributes") or {})
    attributes["idTokenLifetime"] = acted_on.pop("idTokenLifetime")
    document.update(acted_on, attributes=attributes)
    return document


def test_any_client_of_janssens_schema_survives_post_get_put_get(api: ConfigApi) -> None:
    client_schema = janssen_schema(CONFIG_API_DOC, "Client")
    scope_dns = [api.scope_dn("openid"), api.scope_dn("email")]
    interpreted = {
        "clientName", "displayName", "grantTypes", "scopes", "tokenEndpointAuthMethod", "jwks",
        "jwksUri", "authorizedOrigins", "accessTokenAsJwt", "accessTokenLifetime",
        "refreshTokenLifetime", "disabled", "attributes",
    }  # fmt: skip

    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # a real server: no slow shrinking
    )
    @given(raw=_object(client_schema), acted_on=_acted_on(scope_dns))
    def round_trip(raw: dict[str, Any], acted_on: dict[str, Any]) -> None:
        document = _client_document(raw, acted_on)
        created = api.ok("POST", "/openid/clients", 201, json=copy.deepcopy(document))
        inum = created["inum"]
        first = api.ok("GET", f"/openid/clients/{inum}")
        assert first == _without_secret(created)
        assert "registrationAccessToken" not in first  # a credential: never kept
        for name, value in document.items():
            if value is not None and name not in interpreted | {"registrationAccessToken"}:
                assert first[name] == value, name
        for name, value in (document.get("attributes") or {}).items():
            if value is not None and name not in ("tlsClientAuthSubjectDn", "idTokenLifetime"):
                assert first["attributes"][name] == value, name
        assert api.ok("PUT", "/openid/clients", json=first) == first
        assert api.ok("GET", f"/openid/clients/{inum}") == first
        api.ok("DELETE", f"/openid/clients/{inum}", 204)

    round_trip()


# -- token entries -----------------------------------------------------------------------
def test_token_entries_carry_a_reference_id_and_janssens_attributes(
    server: Server, api: ConfigApi
) -> None:
    """Every token has a referenceId (a JWT's is its jti) that finds it (jansId); the
    attributes are Janssen's TokenAttributes: the string map holds what we keep."""
    client = api.create_client(
        grantTypes=["password", "refresh_token", "client_credentials"], accessTokenAsJwt=True
    )
    # On the server's own store (its --database-url, where it has one).
    server.cli(
        "user", "create", "--username", "janssen-entry", "--password",
        "a-long-enough-password-1",
        *(["--database-url", server.database_url] if server.database_url else []),
    )  # fmt: skip
    issued = server.password_token(client, "janssen-entry", "a-long-enough-password-1")
    entries = api.ok("GET", f"/token/client/{client.client_id}")["entries"]
    assert {e["tokenTypeEnum"] for e in entries} == {"ACCESS_TOKEN", "REFRESH_TOKEN"}
    for entry in entries:
        assert isinstance(entry["referenceId"], str) and entry["referenceId"]
        assert entry["attributes"]["attributes"]["username"] == "janssen-entry"
        # Not bound to a certificate; a JWT access token has its status-list index.
        jwt_access = entry["tokenTypeEnum"] == "ACCESS_TOKEN"
        expected = {"attributes", "statusListIndex"} if jwt_access else {"attributes"}
        assert set(entry["attributes"]) == expected
        found = api.ok(
            "GET", "/token/search", params={"fieldValuePair": f"jansId={entry['referenceId']}"}
        )["entries"]
        assert [e["tokenCode"] for e in found] == [entry["tokenCode"]]
    access = next(e for e in entries if e["tokenTypeEnum"] == "ACCESS_TOKEN")
    assert access["referenceId"] == server.introspect(issued["access_token"])["jti"]
    assert len({e["referenceId"] for e in entries}) == len(entries)
