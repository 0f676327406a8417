"""Stand-ins for the Java/Janssen classes a Revoke Token interception script touches.

Janssen runs interception scripts under Jython, so a script imports Java packages
(`java.lang`, `io.jans.model.custom.script.type.revoke`, ...) and receives Java objects
(`HttpServletRequest`, `Map<String, SimpleCustomProperty>`, ...). This module gives
Python objects with the same method names so such a script runs unchanged (once it
uses Python 3 syntax: `print "x"` statements cannot be compiled).

The shim modules are never put in `sys.modules`: `build_shim_modules` returns a fresh
private table that the loader's script `__import__` consults before the real import.
Registering a global `io` package would shadow the stdlib `io` for the whole process.

This module runs inside the script worker process (docs/scripts.md), so it imports only
the standard library: the worker must not load the store, the crypto or the models.
"""

from __future__ import annotations

import io as _stdlib_io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

logger = logging.getLogger("tokenrevoke.scripts")

#: Janssen's API version for the revoke-token script type (scripts must answer > 1 to run).
DEFAULT_API_VERSION = 11


@dataclass(frozen=True, slots=True)
class ScriptClient:
    """What a script sees of the authenticated client (no secret, no hash of one)."""

    client_id: str
    client_name: str = ""
    scopes: Sequence[str] = field(default_factory=tuple)
    grant_types: Sequence[str] = field(default_factory=tuple)
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class ScriptInfo:
    """What a script sees of its own stored definition (Janssen's `CustomScript`)."""

    inum: str
    name: str
    level: int = 100
    revision: int = 0
    description: str = ""
    script_type: str = "revoke_token"
    enabled: bool = True


class RevokeTokenType:
    """Base class of `io.jans.model.custom.script.type.revoke.RevokeTokenType`.

    The defaults mirror Janssen's `DummyRevokeTokenType`, so a script only needs to
    override the methods it cares about.
    """

    def __init__(self, currentTimeMillis: int = 0) -> None:
        self.currentTimeMillis = currentTimeMillis

    def init(self, *args: Any) -> bool:
        return True

    def destroy(self, configurationAttributes: Any = None) -> bool:
        return True

    def getApiVersion(self) -> int:
        return DEFAULT_API_VERSION

    def revoke(self, context: Any) -> bool:
        return True


class SimpleCustomProperty:
    """Janssen's `SimpleCustomProperty`: value1 is the attribute name, value2 its value."""

    __slots__ = ("_description", "_value1", "_value2")

    def __init__(self, value1: str, value2: str, description: str = "") -> None:
        self._value1 = value1
        self._value2 = value2
        self._description = description

    def getValue1(self) -> str:
        return self._value1

    def getValue2(self) -> str:
        return self._value2

    def getDescription(self) -> str:
        return self._description

    def __repr__(self) -> str:
        return f"SimpleCustomProperty({self._value1!r}, {self._value2!r})"


class ConfigurationAttributes(Mapping[str, SimpleCustomProperty]):
    """Read-only `Map<String, SimpleCustomProperty>` that also behaves as a Python mapping."""

    __slots__ = ("_items",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, SimpleCustomProperty] = {
            name: SimpleCustomProperty(name, value) for name, value in (values or {}).items()
        }

    def __getitem__(self, name: str) -> SimpleCustomProperty:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def containsKey(self, name: str) -> bool:
        return name in self._items

    def keySet(self) -> KeysView[str]:
        return self._items.keys()

    def size(self) -> int:
        return len(self._items)

    def isEmpty(self) -> bool:
        return not self._items

    def __repr__(self) -> str:
        return f"ConfigurationAttributes({list(self._items)!r})"


# RFC 9110 `token` characters for a field name.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters other than HTAB are never valid in a field value (CR/LF would split it).
_BAD_VALUE_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The server computes message framing itself; a script setting these would corrupt it.
_FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
)


def header_problem(name: str, value: str) -> str | None:
    """Why (name, value) cannot be sent as a response header, or None when it can."""
    if not _HEADER_NAME.fullmatch(name):
        return "invalid header name"
    if name.lower() in _FRAMING_HEADERS:
        return "framing header is managed by the server"
    if _BAD_VALUE_CHARS.search(value):
        return "header value contains CR/LF or control characters"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "header value is not latin-1"
    return None


class ResponseBuilderShim:
    """The JAX-RS `ResponseBuilder` subset scripts use: `header(name, value)` to add a header.

    Invalid headers are dropped (and logged) rather than raised, matching how a
    servlet container would refuse them, so a sloppy script cannot break the response.
    Once the engine has reached its verdict the builder is sealed: a script thread
    that outlived its timeout can no longer change what is sent.
    """

    def __init__(self, on_header: Callable[[str, str], None] | None = None) -> None:
        self._headers: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._sealed = False
        # The worker passes each accepted header on at once, so that a script killed
        # for its timeout still has the headers it added before it hung sent.
        self._on_header = on_header

    def header(self, name: Any, value: Any) -> ResponseBuilderShim:
        name_text, value_text = str(name), "" if value is None else str(value)
        problem = header_problem(name_text, value_text)
        if problem is not None:
            # Only a well-formed name is echoed; values may carry anything, so never log them.
            shown = name_text if _HEADER_NAME.fullmatch(name_text) else "<invalid>"
            logger.warning("revoke_token script header %s ignored: %s", shown, problem)
            return self
        with self._lock:
            if self._sealed:
                logger.warning(
                    "revoke_token script header %s ignored: verdict already given", name_text
                )
            else:
                self._headers.append((name_text, value_text))
                if self._on_header is not None:
                    self._on_header(name_text, value_text)
        return self

    def seal(self) -> list[tuple[str, str]]:
        """Stop accepting headers and return those recorded so far."""
        with self._lock:
            self._sealed = True
            return list(self._headers)


class HttpServletRequestShim:
    """The `HttpServletRequest` subset available to scripts (form parameters and headers)."""

    __slots__ = ("_headers", "_params", "_remote_addr")

    def __init__(
        self, params: Mapping[str, str], headers: Mapping[str, str], remote_addr: str | None
    ) -> None:
        self._params = dict(params)
        self._headers = {name.lower(): value for name, value in headers.items()}
        self._remote_addr = remote_addr

    def getParameter(self, name: str) -> str | None:
        return self._params.get(name)

    def getParameterMap(self) -> dict[str, list[str]]:
        # Java returns Map<String, String[]>; a fresh copy keeps scripts from mutating ours.
        return {name: [value] for name, value in self._params.items()}

    def getParameterNames(self) -> list[str]:
        return list(self._params)

    def getHeader(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    def getHeaderNames(self) -> list[str]:
        return list(self._headers)

    def getRemoteAddr(self) -> str | None:
        return self._remote_addr


class HttpServletResponseShim:
    """The `HttpServletResponse` subset: headers only, routed through the response builder."""

    __slots__ = ("_builder",)

    def __init__(self, builder: ResponseBuilderShim) -> None:
        self._builder = builder

    def setHeader(self, name: Any, value: Any) -> None:
        self._builder.header(name, value)

    def addHeader(self, name: Any, value: Any) -> None:
        self._builder.header(name, value)


class ClientShim:
    """Janssen's `Client` getters over our record (the record itself is `.client`)."""

    __slots__ = ("client",)

    def __init__(self, client: ScriptClient) -> None:
        self.client = client

    def getClientId(self) -> str:
        return self.client.client_id

    def getClientName(self) -> str:
        return self.client.client_name

    def getScopes(self) -> list[str]:
        return list(self.client.scopes)

    def getGrantTypes(self) -> list[str]:
        return list(self.client.grant_types)

    def isDisabled(self) -> bool:
        return self.client.disabled


class CustomScriptShim:
    """Janssen's `CustomScript` getters over the script's stored definition."""

    __slots__ = ("definition",)

    def __init__(self, definition: ScriptInfo) -> None:
        self.definition = definition

    def getInum(self) -> str:
        return self.definition.inum

    def getName(self) -> str:
        return self.definition.name

    def getLevel(self) -> int:
        return self.definition.level

    def getRevision(self) -> int:
        return self.definition.revision

    def getDescription(self) -> str:
        return self.definition.description

    def getScriptType(self) -> str:
        return self.definition.script_type

    def isEnabled(self) -> bool:
        return self.definition.enabled


class RevokeTokenContext:
    """`io.jans.as.server.service.external.context.RevokeTokenContext` as seen by a script."""

    __slots__ = (
        "_attributes",
        "_builder",
        "_client",
        "_custom_script",
        "_request",
        "_response",
    )

    def __init__(
        self,
        request: HttpServletRequestShim,
        response: HttpServletResponseShim,
        client: ClientShim | None,
        builder: ResponseBuilderShim,
        attributes: ConfigurationAttributes,
        custom_script: CustomScriptShim,
    ) -> None:
        self._request = request
        self._response = response
        self._client = client
        self._builder = builder
        self._attributes = attributes
        self._custom_script = custom_script

    def getHttpRequest(self) -> HttpServletRequestShim:
        return self._request

    def getHttpResponse(self) -> HttpServletResponseShim:
        return self._response

    def getClient(self) -> ClientShim | None:
        return self._client

    def getResponseBuilder(self) -> ResponseBuilderShim:
        return self._builder

    def getScriptConfigurationAttributes(self) -> ConfigurationAttributes:
        return self._attributes

    def getCustomScript(self) -> CustomScriptShim:
        return self._custom_script


class CdiUtil:
    """Importable so scripts load; there is no CDI container, so `bean()` always fails."""

    @staticmethod
    def bean(cls: Any, *args: Any) -> Any:
        name = getattr(cls, "__name__", repr(cls))
        raise LookupError(f"CdiUtil.bean({name}) is not available: tokenrevoke has no CDI beans")


class System:
    """`java.lang.System` subset."""

    @staticmethod
    def currentTimeMillis() -> int:
        return time.time_ns() // 1_000_000


_SHIM_EXPORTS: dict[str, dict[str, Any]] = {
    "java.lang": {
        "String": str,
        "Integer": int,
        "Long": int,
        "Boolean": bool,
        "System": System,
    },
    "io.jans.model.custom.script.type.revoke": {"RevokeTokenType": RevokeTokenType},
    "org.gluu.model.custom.script.type.revoke": {"RevokeTokenType": RevokeTokenType},
    "io.jans.service.cdi.util": {"CdiUtil": CdiUtil},
    "org.gluu.service.cdi.util": {"CdiUtil": CdiUtil},
}

#: Import prefixes that name Java/Janssen code; unknown ones get a clear error.
JAVA_PREFIXES = ("java", "javax", "jakarta", "io.jans", "org.gluu")


def is_java_name(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in JAVA_PREFIXES)


def _stdlib_io_getattr(name: str) -> Any:
    # `import io.jans.x` binds the shim `io` package in the script; keep stdlib io usable there.
    return getattr(_stdlib_io, name)


def _new_module(name: str) -> ModuleType:
    module = ModuleType(name)
    module.__path__ = []  # a package, so `import a.b` style imports make sense
    if name == "io":
        module.__dict__["__getattr__"] = _stdlib_io_getattr
    return module


def build_shim_modules() -> dict[str, ModuleType]:
    """A fresh, private table of dotted module name -> shim module (parents included)."""
    modules: dict[str, ModuleType] = {}
    for dotted, exports in _SHIM_EXPORTS.items():
        parts = dotted.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name not in modules:
                modules[name] = _new_module(name)
                if depth > 1:
                    setattr(modules[".".join(parts[: depth - 1])], parts[depth - 1], modules[name])
        modules[dotted].__dict__.update(exports)
    return modules


def supported_modules() -> list[str]:
    return sorted(_SHIM_EXPORTS)
