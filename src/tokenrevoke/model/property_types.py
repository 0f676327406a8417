"""Checking a value against the type Janssen's config API documents for a property.

The specs are the generated subset of JSON Schema in `janssen_properties.py`. Janssen reads
the document with Jackson, which also takes `"true"`/`"false"` for booleans and numeric
strings for integers (its default scalar coercion; the swagger's own PATCH example sends
`"true"`): so do we, storing the typed value. `null` inside a value is refused (our answers
conform to the schema, which has no nullable member); a top-level `null` unsets a property
(config.py).
"""

from __future__ import annotations

import re
from typing import Any

_INT_RANGES = {"int64": (-(2**63), 2**63 - 1)}
_INT32 = (-(2**31), 2**31 - 1)
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")
_MAX_DEPTH = 32


class PropertyTypeError(ValueError):
    """A value that does not have the documented type (config.py makes it a ConfigError)."""


def check_value(where: str, spec: dict[str, Any], value: Any, depth: int = 0) -> Any:
    """The typed value, or PropertyTypeError naming `where` (a JSON-pointer-like path)."""
    if depth > _MAX_DEPTH:
        raise PropertyTypeError(f"{where}: nested too deeply")
    kind = spec.get("type")
    if value is None:
        raise PropertyTypeError(f"{where} must not be null")
    if kind == "boolean":
        return _boolean(where, value)
    if kind == "integer":
        return _integer(where, spec.get("format"), value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PropertyTypeError(f"{where} must be a number, got {value!r}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise PropertyTypeError(f"{where} must be a string, got {value!r}")
        enum = spec.get("enum")
        if enum is not None and value not in enum:
            raise PropertyTypeError(f"{where} must be one of {', '.join(enum)}, got {value!r}")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise PropertyTypeError(f"{where} must be a list, got {value!r}")
        items = spec.get("items", {})
        return [check_value(f"{where}[{i}]", items, v, depth + 1) for i, v in enumerate(value)]
    if kind == "object" or "properties" in spec or "additionalProperties" in spec:
        return _object(where, spec, value, depth)
    return value  # `{}`: any JSON value (Janssen's JsonNode)


def _boolean(where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise PropertyTypeError(f"{where} must be true or false, got {value!r}")


def _integer(where: str, fmt: str | None, value: Any) -> int:
    low, high = _INT_RANGES.get(fmt or "", _INT32)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        number = int(value)
    if number is None or not low <= number <= high:
        raise PropertyTypeError(f"{where} must be an integer from {low} to {high}, got {value!r}")
    return number


def _object(where: str, spec: dict[str, Any], value: Any, depth: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PropertyTypeError(f"{where} must be an object, got {value!r}")
    members: dict[str, Any] = spec.get("properties", {})
    extra: dict[str, Any] | None = spec.get("additionalProperties")
    out = {}
    for key, item in value.items():
        if key in members:
            out[key] = check_value(f"{where}.{key}", members[key], item, depth + 1)
        elif extra is not None:
            out[key] = check_value(f"{where}.{key}", extra, item, depth + 1)
        elif not members:  # a plain `type: object`: any members
            out[key] = item
        else:
            raise PropertyTypeError(f"{where}: unknown member {key!r}")
    return out
