"""The one module that touches the `tf` framework, which ships no type information.

Everything else in the provider is written against the small typed views below; `tf` is
imported lazily through importlib so that mypy sees plain `Any` here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol


class Diagnostics(Protocol):
    """`tf.utils.Diagnostics`: what a resource reports back to Terraform."""

    def add_error(
        self, summary: str, detail: str = "", path: Sequence[Any] | None = None
    ) -> Any: ...  # fmt: skip

    def add_warning(
        self, summary: str, detail: str = "", path: Sequence[Any] | None = None
    ) -> Any: ...

    def has_errors(self) -> bool: ...


class Context(Protocol):
    """`tf.iface.*Context`: every CRUD call gets one."""

    @property
    def diagnostics(self) -> Diagnostics: ...

    @property
    def type_name(self) -> str: ...


def _types() -> Any:
    return importlib.import_module("tf.types")


def unknown() -> object:
    """The sentinel `tf` uses for values Terraform does not know yet (plan time)."""
    value: object = _types().Unknown
    return value


UNKNOWN: object = unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


def new_diagnostics() -> Diagnostics:
    diagnostics: Diagnostics = importlib.import_module("tf.utils").Diagnostics()
    return diagnostics


def tf_attribute(**kwargs: Any) -> Any:
    return importlib.import_module("tf.schema").Attribute(**kwargs)


def tf_schema(**kwargs: Any) -> Any:
    return importlib.import_module("tf.schema").Schema(**kwargs)


def run_provider(provider: object, argv: list[str]) -> None:
    """Serve the plugin (go-plugin handshake on stdout, gRPC on a unix socket)."""
    importlib.import_module("tf.runner").run_provider(provider, argv)
