"""Turning a script's source into a running `RevokeToken` instance, inside the worker.

Janssen contract: a script is a Python class (conventionally `RevokeToken(RevokeTokenType)`)
with `__init__(self, currentTimeMillis)`, `init(self, customScript, configurationAttributes)`,
`destroy(self, configurationAttributes)`, `getApiVersion(self)` and `revoke(self, context)`.

Scripts must be Python 3 source (Janssen's Jython accepts Python 2 `print "x"`; we cannot).
Their Java imports (`java.lang`, `io.jans...`, `org.gluu...`) resolve to the shims in
`janssen_shims` through a private `__import__`, so nothing is added to `sys.modules`.

This module runs only in the script worker process (`worker.py`); it has no timeouts of
its own, because the server kills a worker that does not answer in time. Failures are
`LoadFailure`s: a kind and a few fields that `protocol.failure_message` words.
"""

from __future__ import annotations

import builtins
import inspect
import operator
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import CodeType, ModuleType, TracebackType
from typing import Any

from tokenrevoke.scripts import protocol
from tokenrevoke.scripts.janssen_shims import (
    ConfigurationAttributes,
    CustomScriptShim,
    System,
    build_shim_modules,
    is_java_name,
    supported_modules,
)

# `__module__` of classes a script defines; tells them apart from imported ones.
_SCRIPT_MODULE = "tokenrevoke_revoke_token_script"
_FILENAME_PREFIX = "<revoke_token script "
# What scripts printed, waiting for the next reply to carry it to the server's log.
_MAX_LOG_LINES = 200
_MAX_LOG_LINE = 2000
_printed: deque[str] = deque(maxlen=_MAX_LOG_LINES)
_printed_lock = threading.Lock()


class LoadFailure(Exception):
    """Why a script cannot be used, as fields (see protocol.failure_message)."""

    def __init__(self, kind: str, **fields: Any) -> None:
        super().__init__(kind)
        self.fields: dict[str, Any] = {"kind": kind, **fields}


class _JavaImportError(ModuleNotFoundError):
    pass


def log_line(text: str) -> None:
    with _printed_lock:
        _printed.append(text[:_MAX_LOG_LINE])


def drain_log() -> list[str]:
    with _printed_lock:
        lines = list(_printed)
        _printed.clear()
    return lines


def _script_print(
    *args: object,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    """`print` for scripts: console output goes to the server's log, not to a stream."""
    if file is not None and file is not sys.stdout and file is not sys.stderr:
        print(*args, sep=sep, end=end, file=file, flush=flush)  # an explicit stream is honoured
        return
    log_line((" " if sep is None else sep).join(str(arg) for arg in args))


class LogStream:
    """`sys.stdout`/`sys.stderr` of the worker: whole lines go to the log like `print`."""

    def __init__(self) -> None:
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += str(text)
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            log_line(line)
        return len(text)

    def flush(self) -> None:
        pass


def _script_import(shims: Mapping[str, ModuleType]) -> Callable[..., ModuleType]:
    """An `__import__` that serves the Janssen shim modules before the real import."""

    def script_import(
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        # Plain `io` stays the stdlib module; only `io.jans...` is a shim.
        if level == 0 and name != "io":
            module = shims.get(name)
            if module is not None:
                return module if fromlist else shims[name.partition(".")[0]]
            if is_java_name(name):
                raise _JavaImportError(
                    f"{name} is a Java/Janssen module tokenrevoke does not provide "
                    f"(available: {', '.join(supported_modules())})",
                    name=name,
                )
        return builtins.__import__(name, globals, locals, fromlist or (), level)

    return script_import


def _script_globals() -> dict[str, Any]:
    # Private builtins: `print` logs, `__import__` knows the shims. Functions defined by
    # the script capture these, so imports inside methods resolve the same way.
    script_builtins = dict(builtins.__dict__)
    script_builtins["__import__"] = _script_import(build_shim_modules())
    script_builtins["print"] = _script_print
    return {"__name__": _SCRIPT_MODULE, "__builtins__": script_builtins}


def compile_script(source: str, name: str) -> CodeType:
    """Compile only (nothing runs); SyntaxError and ValueError propagate."""
    # dont_inherit: this module's `from __future__` flags must not leak into scripts.
    return compile(source, f"{_FILENAME_PREFIX}{name}>", "exec", dont_inherit=True)


def _script_line(traceback: TracebackType | None) -> int | None:
    """The line of the script's own code where an exception passed last."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.startswith(_FILENAME_PREFIX):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _raised(error: BaseException, stage: str) -> LoadFailure:
    line = _script_line(error.__traceback__)
    if isinstance(error, _JavaImportError):
        return LoadFailure(protocol.JAVA_IMPORT, stage=stage, line=line, name=error.name)
    return LoadFailure(protocol.RAISED, stage=stage, line=line, type=type(error).__name__)


def exec_module(source: str, name: str) -> dict[str, Any]:
    try:
        code = compile_script(source, name)
    except (SyntaxError, ValueError) as error:
        # The server parses the source before sending it; this is only a safety net.
        raise LoadFailure(protocol.RAISED, type=type(error).__name__) from None
    namespace = _script_globals()
    try:
        exec(code, namespace)  # noqa: S102 - scripts are admin code, run like Janssen does
    except BaseException as error:  # SystemExit too: the worker must answer
        raise _raised(error, "top-level") from None
    return namespace


def _defined_classes(namespace: Mapping[str, Any]) -> dict[str, type]:
    return {
        key: value
        for key, value in namespace.items()
        if isinstance(value, type) and value.__module__ == _SCRIPT_MODULE
    }


def find_script_class(namespace: Mapping[str, Any]) -> type:
    """Janssen's `RevokeToken` class, or failing that the one class defining `revoke`."""
    classes = _defined_classes(namespace)
    cls = classes.get(protocol.SCRIPT_CLASS_NAME)
    if cls is None:
        candidates = [c for c in classes.values() if callable(getattr(c, "revoke", None))]
        if not candidates:
            raise LoadFailure(protocol.NO_CLASS)
        if len(candidates) > 1:
            names = [c.__name__ for c in candidates]
            raise LoadFailure(protocol.SEVERAL_CLASSES, names=names)
        cls = candidates[0]
    for method in protocol.REQUIRED_METHODS:
        if not callable(getattr(cls, method, None)):
            raise LoadFailure(protocol.MISSING_METHOD, method=method, **{"class": cls.__name__})
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return cls  # no introspectable signature; instantiation will tell
    try:
        signature.bind(0)
    except TypeError:
        raise LoadFailure(protocol.CONSTRUCTOR, **{"class": cls.__name__}) from None
    return cls


def validate(source: str) -> None:
    """Run the top-level code once and check the class; does not call init()."""
    find_script_class(exec_module(source, "<validation>"))


def _call_init(instance: Any, custom: CustomScriptShim, attributes: ConfigurationAttributes) -> Any:
    init = instance.init
    try:
        inspect.signature(init).bind(custom, attributes)
    except TypeError:
        return init(attributes)  # Gluu-era init(self, configurationAttributes)
    except ValueError:
        pass  # no introspectable signature: use the current form
    return init(custom, attributes)


def start_instance(
    source: str, name: str, custom: CustomScriptShim, attributes: ConfigurationAttributes
) -> tuple[Any, int]:
    """Load the module, create the instance, call init(); (instance, API version)."""
    cls = find_script_class(exec_module(source, name))
    try:
        instance = cls(System.currentTimeMillis())
        reported = instance.getApiVersion()
        try:
            api_version = operator.index(reported)
        except TypeError:
            raise LoadFailure(protocol.API_VERSION, type=type(reported).__name__) from None
        if not _call_init(instance, custom, attributes):
            raise LoadFailure(protocol.INIT_FALSE)
    except LoadFailure:
        raise
    except BaseException as error:
        raise _raised(error, "init") from None
    return instance, api_version
