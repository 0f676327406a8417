"""The pipe protocol between the server and its script worker, and the words of a failure.

Frames are a 4-byte big-endian length and a JSON object, both ways. The server sends one
request and reads one reply at a time (docs/scripts.md, "How scripts run").

Everything a worker sends is untrusted: the script runs in that process and can write
its own frames. So a load failure travels as a `kind` and a few fields, and the server
words it here (`failure_message`): a line number, and a type or module name only when it
is a built-in exception or appears verbatim in the uploaded source. Nothing the script
computed (a file it read, a command's output) can reach a config-API answer this way.

Standard library only: the worker imports this module.
"""

from __future__ import annotations

import builtins
import json
import re
import struct
from typing import Any

MAX_FRAME = 4 << 20
_HEADER = struct.Struct(">I")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_NAME = 100

# Failure kinds a worker may report while loading or validating a script.
RAISED = "raised"  # top-level code or init() raised
JAVA_IMPORT = "java_import"  # imported a Java/Janssen module we have no shim for
NO_CLASS = "no_class"
SEVERAL_CLASSES = "several_classes"
MISSING_METHOD = "missing_method"
CONSTRUCTOR = "constructor"
INIT_FALSE = "init_false"
API_VERSION = "api_version"
NOT_LOADED = "not_loaded"
REQUIRED_METHODS = ("revoke", "init", "destroy", "getApiVersion")
SCRIPT_CLASS_NAME = "RevokeToken"


class ScriptError(ValueError):
    """A script cannot be used; the message says why (and never what the script computed)."""


class ProtocolError(RuntimeError):
    """A frame that breaks the protocol: the worker is treated as crashed."""


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode()
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(data)) + data


def frame_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    return int(length)


HEADER_SIZE = _HEADER.size


def decode(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("a frame is not JSON") from error
    if not isinstance(message, dict):
        raise ProtocolError("a frame is not a JSON object")
    return message


# ------------------------------------------------------------------ wording a failure


def _shown(name: Any, source: str, *, builtin_ok: bool = False) -> str | None:
    """`name` if it cannot carry anything the script computed, else None."""
    if not isinstance(name, str) or len(name) > _MAX_NAME or not _IDENTIFIER.fullmatch(name):
        return None
    if builtin_ok and isinstance(getattr(builtins, name, None), type):
        return name
    return name if name in source else None


def _line(value: Any, source: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= source.count("\n") + 1 else None


def failure_message(failure: Any, source: str, supported_modules: list[str]) -> str:
    """Words a worker-reported failure using only what the uploaded `source` already says."""
    if not isinstance(failure, dict):
        return "the script could not be loaded"
    kind = failure.get("kind")
    at = _line(failure.get("line"), source)
    where = f" at line {at}" if at else ""
    stage = "initialisation" if failure.get("stage") == "init" else "top-level code"
    if kind == RAISED:
        error = _shown(failure.get("type"), source, builtin_ok=True) or "an exception"
        return f"{stage} raised {error}{where}"
    if kind == JAVA_IMPORT:
        module = _shown(failure.get("name"), source) or "a module"
        return (
            f"{stage} raised ModuleNotFoundError{where}: {module} is a Java/Janssen module "
            f"tokenrevoke does not provide (available: {', '.join(supported_modules)})"
        )
    if kind == NO_CLASS:
        return (
            "no class with a revoke(self, context) method; define "
            f"class {SCRIPT_CLASS_NAME}(RevokeTokenType)"
        )
    if kind == SEVERAL_CLASSES:
        raw = failure.get("names")
        names = [_shown(n, source) or "?" for n in raw] if isinstance(raw, list) else []
        return (
            f"several classes define revoke() ({', '.join(sorted(names)[:10])}); "
            f"name the script class {SCRIPT_CLASS_NAME}"
        )
    cls = _shown(failure.get("class"), source) or "the script class"
    if kind == MISSING_METHOD:
        method = failure.get("method")
        method = method if method in REQUIRED_METHODS else "required"
        return (
            f"class {cls} has no callable {method}() "
            "(subclass RevokeTokenType to inherit the defaults)"
        )
    if kind == CONSTRUCTOR:
        return f"{cls}(currentTimeMillis) cannot be called"
    if kind == INIT_FALSE:
        return "init() returned False"
    if kind == API_VERSION:
        returned = _shown(failure.get("type"), source, builtin_ok=True) or "a non-integer"
        return f"getApiVersion() returned {returned}, expected an int"
    if kind == NOT_LOADED:
        return "the worker has no such script loaded"
    return "the script could not be loaded"
