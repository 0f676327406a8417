"""The provider's schemas, as typed data: the single source for what Terraform is told
(`to_tf`), for the generated documentation and for the tests that check the two agree.

Types implement the small protocol `tf` expects of a type (encode, decode, tf_type,
semantically_equal); `tf` has no object type, so all of them live here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from terraform_provider_jans.tfbridge import UNKNOWN, tf_attribute, tf_schema


def _absent(value: Any) -> bool:
    return value is None or value is UNKNOWN


class Type:
    """A Terraform type. Values are plain Python (str, int/float, bool, list, dict)."""

    doc_name = ""

    def type_json(self) -> Any:
        raise NotImplementedError

    def tf_type(self) -> bytes:
        return json.dumps(self.type_json(), separators=(",", ":")).encode()

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a: Any, b: Any) -> bool:
        return bool(a == b)


class StringType(Type):
    doc_name = "String"

    def type_json(self) -> Any:
        return "string"


class NumberType(Type):
    doc_name = "Number"

    def type_json(self) -> Any:
        return "number"


class BoolType(Type):
    doc_name = "Boolean"

    def type_json(self) -> Any:
        return "bool"


class ListType(Type):
    def __init__(self, element: Type) -> None:
        self.element = element
        self.doc_name = f"List of {element.doc_name}"

    def type_json(self) -> Any:
        return ["list", self.element.type_json()]

    def encode(self, value: Any) -> Any:
        return value if _absent(value) else [self.element.encode(v) for v in value]

    def decode(self, value: Any) -> Any:
        return value if _absent(value) else [self.element.decode(v) for v in value]


class MapType(Type):
    def __init__(self, element: Type) -> None:
        self.element = element
        self.doc_name = f"Map of {element.doc_name}"

    def type_json(self) -> Any:
        return ["map", self.element.type_json()]

    def encode(self, value: Any) -> Any:
        return value if _absent(value) else {k: self.element.encode(v) for k, v in value.items()}

    def decode(self, value: Any) -> Any:
        return value if _absent(value) else {k: self.element.decode(v) for k, v in value.items()}


@dataclass(frozen=True)
class Field:
    """An attribute of an object type (documented under "Nested Schema")."""

    name: str
    type: Type
    description: str


class ObjectType(Type):
    doc_name = "Object"

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = tuple(fields)

    def type_json(self) -> Any:
        return ["object", {f.name: f.type.type_json() for f in self.fields}]

    def encode(self, value: Any) -> Any:
        if _absent(value):
            return value
        return {f.name: f.type.encode(value.get(f.name)) for f in self.fields}

    def decode(self, value: Any) -> Any:
        if _absent(value):
            return value
        return {f.name: f.type.decode(value.get(f.name)) for f in self.fields}


STRING = StringType()
NUMBER = NumberType()
BOOL = BoolType()


@dataclass(frozen=True)
class Attr:
    name: str
    type: Type
    description: str
    required: bool = False
    optional: bool = False
    computed: bool = False
    sensitive: bool = False
    requires_replace: bool = False
    # For an Optional+Computed attribute: the value planned (and stored) when it is unset.
    default: Any = UNKNOWN

    def __post_init__(self) -> None:
        if self.required and (self.optional or self.computed):
            raise ValueError(f"{self.name}: a required attribute is neither optional nor computed")
        if not (self.required or self.optional or self.computed):
            raise ValueError(f"{self.name}: set required, optional or computed")

    def to_tf(self) -> Any:
        return tf_attribute(
            name=self.name,
            type=self.type,
            description=self.description,
            required=self.required,
            optional=self.optional,
            computed=self.computed,
            sensitive=self.sensitive,
            requires_replace=self.requires_replace,
            default=self.default,
        )


@dataclass(frozen=True)
class Schema:
    description: str
    attributes: tuple[Attr, ...]
    version: int = 0

    def to_tf(self) -> Any:
        return tf_schema(
            attributes=[a.to_tf() for a in self.attributes],
            version=self.version,
            description=self.description,
        )

    def attribute(self, name: str) -> Attr:
        return next(a for a in self.attributes if a.name == name)

    def names(self) -> list[str]:
        return [a.name for a in self.attributes]
