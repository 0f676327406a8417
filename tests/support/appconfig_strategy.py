"""Hypothesis strategies for Janssen's AppConfiguration: values generated from the type
specs the server validates with (model/janssen_properties.py, generated from Janssen's
swagger), and for the properties we act on, values our own rules accept."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tokenrevoke.model.config import NO_EFFECT
from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES

# No NUL: the config API refuses it in any string (docs/security.md, S7).
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=12,
)
_KEYS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_JSON_SCALARS = st.none() | st.booleans() | st.integers(-1000, 1000) | _TEXT


def value_for(spec: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    kind = spec.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        bound = 2**63 - 1 if spec.get("format") == "int64" else 2**31 - 1
        return st.integers(-bound - 1, bound)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "string":
        return st.sampled_from(spec["enum"]) if "enum" in spec else _TEXT
    if kind == "array":
        return st.lists(value_for(spec.get("items", {}), depth + 1), max_size=2 if depth else 3)
    members = spec.get("properties")
    if members:
        return st.fixed_dictionaries(
            {}, optional={k: value_for(v, depth + 1) for k, v in members.items()}
        )
    if "additionalProperties" in spec:
        return st.dictionaries(
            _KEYS, value_for(spec["additionalProperties"], depth + 1), max_size=2
        )
    # `{}` or a plain object: any JSON (objects of scalars here)
    if kind == "object":
        return st.dictionaries(_KEYS, _JSON_SCALARS.filter(lambda v: v is not None), max_size=2)
    return _JSON_SCALARS.filter(lambda v: v is not None)


def no_effect_properties(max_size: int = 40) -> st.SearchStrategy[dict[str, Any]]:
    """A document of some of Janssen's properties that we keep without acting on them."""
    names = sorted(NO_EFFECT)
    return st.lists(st.sampled_from(names), max_size=max_size, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({n: value_for(JANSSEN_PROPERTIES[n]) for n in chosen})
    )


def complete_no_effect_properties() -> st.SearchStrategy[dict[str, Any]]:
    """A value for every property of Janssen's we keep without acting on it."""
    return st.fixed_dictionaries({n: value_for(JANSSEN_PROPERTIES[n]) for n in sorted(NO_EFFECT)})
