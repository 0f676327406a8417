"""Conformance to Janssen's own config-API document (not ours) for the operations its
TUI and CLI call at start-up and in the Auth Server screens (Properties, Logging, Keys),
through a real server:

- schemathesis over `jans-config-api-swagger.yaml` (../shared/janssen), restricted to those
  operations: no 5xx, and every answer conforms to Janssen's schema for its status;
- every request example Janssen's document gives for them is accepted;
- GET then a whole-document replace of the properties changes nothing, for generated
  complete AppConfigurations (Hypothesis, values per Janssen's schema).

Skips, saying why, where ../shared is absent.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.support.appconfig_strategy import complete_no_effect_properties
from tests.support.fuzzing import run_operation
from tests.support.janssen import CONFIG_API_DOC, janssen_doc
from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server

# Janssen's document lists no 400 (nor 413, 415) for these operations, though Janssen
# answers 400 to bad input: the statuses are not checked against it, the rest is.
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
SERVED = (
    "get-config-health",
    "get-config-health-live",
    "get-config-health-ready",
    "get-app-version",
    "get-server-stat",
    "get-plugins",
    "get-plugin-by-name",
    "get-properties-persistence",
    "get-attributes",
    "get-config-jwks",
    "get-acrs",
    "get-config-logging",
    "put-config-logging",
    "get-properties",
    "patch-properties",
)


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return janssen_doc(CONFIG_API_DOC)


@pytest.fixture(scope="module")
def schema(server: Server, doc: dict[str, Any]) -> Any:
    """Janssen's document, pointed at our server."""
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(doc))
    loaded.config.update(base_url=f"{server.url}/jans-config-api")
    return loaded


@pytest.fixture(scope="module")
def admin_headers(server: Server) -> dict[str, str]:
    token = server.fetch_token(Client(ADMIN_ID, ADMIN_SECRET))["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def restore_properties(server: Server, admin_headers: dict[str, str]) -> Iterator[None]:
    """Leave the module's server as it was (the PUT of logging changes properties)."""
    with server.http() as http:
        before = http.get("/jans-config-api/api/v1/jans-auth-server/config", headers=admin_headers)
    yield
    with server.http() as http:
        http.patch(
            "/jans-config-api/api/v1/jans-auth-server/config",
            json=[{"op": "replace", "path": "", "value": before.json()}],
            headers={**admin_headers, "Content-Type": "application/json-patch+json"},
        )


@pytest.mark.parametrize("operation_id", SERVED)
def test_conformance_to_janssens_document(
    doc: dict[str, Any],
    schema: Any,
    admin_headers: dict[str, str],
    restore_properties: None,
    operation_id: str,
) -> None:
    method, path, _ = _operations(doc)[operation_id]
    statuses = run_operation(
        schema, method.upper(), path, GenerationMode.POSITIVE, admin_headers, checks=CHECKS
    )
    assert statuses
    assert 401 not in statuses and 403 not in statuses, statuses


# -- Janssen's request examples -----------------------------------------------------------
def _examples(doc: dict[str, Any]) -> list[Any]:
    out = []
    for operation_id in SERVED:
        method, path, op = _operations(doc)[operation_id]
        for media_type, content in op.get("requestBody", {}).get("content", {}).items():
            for name, example in content.get("examples", {}).items():
                value = example["value"]
                body = json.loads(value) if isinstance(value, str) else value
                label = f"{operation_id}: {name}"
                out.append(pytest.param(method, path, media_type, body, None, id=label))
        for param in op.get("parameters", []):
            for name, example in param.get("examples", {}).items():
                query = {param["name"]: example["value"]}
                label = f"{operation_id}: {param['name']} {name}"
                out.append(pytest.param(method, path, None, None, query, id=label))
    return out


def _example_params() -> list[Any]:
    try:
        return _examples(janssen_doc(CONFIG_API_DOC))
    except pytest.skip.Exception:
        return [pytest.param(None, None, None, None, None, id="no-janssen-document")]


@pytest.mark.parametrize(("method", "path", "media_type", "body", "query"), _example_params())
def test_janssens_request_examples_are_accepted(
    server: Server,
    admin_headers: dict[str, str],
    restore_properties: None,
    method: str | None,
    path: str,
    media_type: str | None,
    body: Any,
    query: dict[str, str] | None,
) -> None:
    if method is None:
        janssen_doc(CONFIG_API_DOC)  # skips, saying why
    headers = dict(admin_headers)
    if media_type is not None:
        headers["Content-Type"] = media_type
    with server.http() as http:
        response = http.request(
            method.upper(),
            f"/jans-config-api{path}",
            content=None if body is None else json.dumps(body),
            params=query,
            headers=headers,
        )
    assert response.is_success, response.text


def test_examples_cover_the_property_and_logging_writes(doc: dict[str, Any]) -> None:
    labels = {p.id.split(":")[0] for p in _examples(doc)}
    assert {"patch-properties", "put-config-logging", "get-attributes"} <= labels


# -- GET, then PUT of the whole document, changes nothing ----------------------------------
PROPERTIES_PATH = "/jans-config-api/api/v1/jans-auth-server/config"


def _replace_all(server: Server, headers: dict[str, str], document: dict[str, Any]) -> Any:
    with server.http() as http:
        response = http.patch(
            PROPERTIES_PATH,
            json=[{"op": "replace", "path": "", "value": document}],
            headers={**headers, "Content-Type": "application/json-patch+json"},
        )
    assert response.status_code == 200, response.text
    return response.json()


def _get(server: Server, headers: dict[str, str]) -> Any:
    with server.http() as http:
        response = http.get(PROPERTIES_PATH, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_get_then_put_of_a_complete_app_configuration_changes_nothing(
    server: Server, admin_headers: dict[str, str], restore_properties: None
) -> None:
    janssen_doc(CONFIG_API_DOC)
    acted_on = _get(server, admin_headers)

    @settings(
        max_examples=8,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(complete_no_effect_properties())
    def round_trip(kept: dict[str, Any]) -> None:
        complete = {**acted_on, **kept}
        assert _replace_all(server, admin_headers, complete) == complete
        read = _get(server, admin_headers)
        assert read == complete
        assert _replace_all(server, admin_headers, read) == read
        assert _get(server, admin_headers) == read

    round_trip()


# -- PATCH sets, replaces and removes any of Janssen's properties --------------------------
def _sample(spec: dict[str, Any]) -> Any:
    """One value of the type (the first of an enum, one item of a list...)."""
    kind = spec.get("type")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return 7
    if kind == "string":
        return spec["enum"][0] if "enum" in spec else "x"
    if kind == "array":
        return [_sample(spec.get("items", {}))]
    if spec.get("properties"):
        name, member = next(iter(spec["properties"].items()))
        return {name: _sample(member)}
    if "additionalProperties" in spec:
        return {"k": _sample(spec["additionalProperties"])}
    return {"any": "json"} if kind == "object" else "any"


def test_patch_adds_replaces_and_removes_every_janssen_property(
    server: Server, admin_headers: dict[str, str], restore_properties: None
) -> None:
    from tokenrevoke.model.config import NO_EFFECT
    from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES

    def patch(ops: list[dict[str, Any]]) -> Any:
        with server.http() as http:
            response = http.patch(
                PROPERTIES_PATH,
                json=ops,
                headers={**admin_headers, "Content-Type": "application/json-patch+json"},
            )
        assert response.status_code == 200, response.text
        return response.json()

    values = {name: _sample(JANSSEN_PROPERTIES[name]) for name in sorted(NO_EFFECT)}
    half = sorted(values)[::2]  # `add` for these, `replace` (of an unset one) for the rest
    added = patch(
        [
            {"op": "add" if name in half else "replace", "path": f"/{name}", "value": value}
            for name, value in values.items()
        ]
    )
    assert {name: added[name] for name in values} == values
    assert _get(server, admin_headers) == added
    removed = patch([{"op": "remove", "path": f"/{name}"} for name in values])
    assert not set(values) & set(removed)
