"""Our tables of Janssen's Client and Scope schemas (configapi/janssen_schema.py) are
Janssen's: every member, with its type, and nothing else. Also: the type checks they
drive say what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.janssen import CONFIG_API_DOC, janssen_doc, janssen_schema
from tokenrevoke.configapi.janssen_schema import (
    CLIENT,
    CLIENT_ATTRIBUTES,
    SCOPE,
    SCOPE_ATTRIBUTES,
    Kind,
    SchemaError,
    check,
)

_REFS = {
    "LocalizedString": "localized",
    "CustomObjectAttribute": "custom",
    "ClientAttributes": "object",
    "ScopeAttributes": "object",
}


def _kind(prop: dict[str, Any]) -> Kind:
    """Janssen's property schema as one of our kinds."""
    if "$ref" in prop:
        return _REFS[prop["$ref"].rsplit("/", 1)[1]]
    kind = prop["type"]
    if kind == "array":
        return ("array", _kind(prop["items"]))
    if kind == "string" and "enum" in prop:
        return ("enum", tuple(prop["enum"]))
    if kind == "string" and prop.get("format") == "date-time":
        return "date-time"
    if kind == "integer":
        assert prop.get("format") == "int32", prop
        return "int32"
    if kind == "object" and prop.get("additionalProperties") == {"type": "string"}:
        return "strings-object"
    return str(kind)


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("Client", CLIENT),
        ("ClientAttributes", CLIENT_ATTRIBUTES),
        ("Scope", SCOPE),
        ("ScopeAttributes", SCOPE_ATTRIBUTES),
    ],
)
def test_tables_are_janssens_schemas(name: str, table: dict[str, Kind]) -> None:
    janssen_doc(CONFIG_API_DOC)
    properties = janssen_schema(CONFIG_API_DOC, name)["properties"]
    assert {member: _kind(prop) for member, prop in properties.items()} == table


@pytest.mark.parametrize(
    ("name", "value", "kind", "message"),
    [
        ("redirectUris", "https://a", ("array", "string"), "redirectUris must be an array"),
        ("redirectUris", [1], ("array", "string"), "redirectUris[0] must be a string"),
        ("subjectType", "x", ("enum", ("pairwise", "public")), "one of pairwise, public"),
        ("ttl", True, "int32", "ttl must be an integer"),
        ("ttl", 2**31, "int32", "ttl must be a 32-bit integer"),
        ("trustedClient", "true", "boolean", "trustedClient must be true or false"),
        ("expirationDate", "tomorrow", "date-time", "expirationDate must be a date-time"),
        ("expirationDate", "2024-09-23", "date-time", "expirationDate must be a date-time"),
        ("x", {"values": {"en": 1}}, "localized", "x.values must be an object of strings"),
        ("c", [{"name": 5}], ("array", "custom"), "c[0].name must be a string"),
        ("creatorAttributes", {"a": 1}, "strings-object", "must be an object of strings"),
    ],
)
def test_a_wrong_type_says_what_is_wrong(name: str, value: Any, kind: Kind, message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check(name, value, kind)


@pytest.mark.parametrize(
    "value", ["2022-10-27T21:09:45", "2024-09-23T15:03:50Z", "2024-09-23t15:03:50.5+02:00"]
)
def test_date_times_in_janssens_and_rfc_3339_forms(value: str) -> None:
    assert check("d", value, "date-time") == value


def test_null_is_no_value() -> None:
    assert check("ttl", None, "int32") is None
