"""Runs Janssen-compatible Revoke Token interception scripts.

Janssen contract: every enabled `revoke_token` script runs, ordered by `level` then
name, before the token is looked up. A script is a Python class (conventionally
`RevokeToken(RevokeTokenType)`) with `__init__(self, currentTimeMillis)`,
`init(self, customScript, configurationAttributes)`, `destroy(self, configurationAttributes)`,
`getApiVersion(self)` and `revoke(self, context)`. A script whose API version is <= 1 is
skipped; `revoke` returning a false value, raising, or not answering within the timeout
stops the revocation (the endpoint then answers 200 and revokes nothing).

Scripts must be Python 3 source (Janssen's Jython accepts Python 2 `print "x"`; we cannot).
Their Java imports (`java.lang`, `io.jans...`, `org.gluu...`) resolve to the shims in
`janssen_shims` through a private `__import__`, so nothing is added to `sys.modules`.

Scripts are trusted admin code: they run in-process with no sandbox. The timeouts only
protect the server's latency; a hung script thread cannot be killed and keeps one
worker busy until it returns.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import logging
import math
import operator
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import partial
from types import CodeType, ModuleType
from typing import Any, TypeVar

from tokenrevoke.model.client import Client
from tokenrevoke.model.script import REVOKE_TOKEN, ScriptDefinition
from tokenrevoke.observability.metrics import SCRIPT_STOPS
from tokenrevoke.scripts.janssen_shims import (
    ClientShim,
    ConfigurationAttributes,
    CustomScriptShim,
    HttpServletRequestShim,
    HttpServletResponseShim,
    ResponseBuilderShim,
    RevokeTokenContext,
    System,
    build_shim_modules,
    is_java_name,
    supported_modules,
)

logger = logging.getLogger("tokenrevoke.scripts")

T = TypeVar("T")

DEFAULT_TIMEOUT = 1.0
#: Janssen looks the script class up by this name.
SCRIPT_CLASS_NAME = "RevokeToken"
REQUIRED_METHODS = ("revoke", "init", "destroy", "getApiVersion")
#: Request values that must never reach a log line.
SECRET_PARAMS = ("token", "client_secret", "client_assertion")
REDACTED = "[redacted]"

# `__module__` of classes a script defines; tells them apart from imported ones.
_SCRIPT_MODULE = "tokenrevoke_revoke_token_script"
# Queued calls allowed per worker before new calls are refused outright (see _DaemonPool).
_QUEUED_PER_WORKER = 64
_MAX_DETAIL = 300


class ScriptError(ValueError):
    """A script cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class RevokeScriptRequest:
    """What a script may see of the revocation request."""

    params: Mapping[str, str]  # form parameters (first value of each)
    headers: Mapping[str, str]  # lower-cased header names
    remote_addr: str | None
    client: Client | None


@dataclass(slots=True)
class ScriptVerdict:
    """Whether revocation may proceed, and if not which script stopped it and how."""

    allowed: bool
    script: str | None = None
    outcome: str = "allowed"  # "allowed" | "veto" | "error" | "timeout"
    detail: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- redaction


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _request_secrets(request: RevokeScriptRequest) -> tuple[str, ...]:
    values = {request.params.get(name) or "" for name in SECRET_PARAMS}
    authorization = request.headers.get("authorization")
    if authorization:
        # The whole header and the credentials alone (a script may print either).
        values.update({authorization, authorization.partition(" ")[2]})
    # Longest first, so a secret containing another is replaced whole.
    return tuple(sorted((value for value in values if value), key=len, reverse=True))


# ------------------------------------------------------------------ calls into scripts


@dataclass(frozen=True, slots=True)
class _CallState:
    """Which script the current thread is running, for `print` and redaction."""

    script: str
    secrets: tuple[str, ...] = ()


_local = threading.local()


@dataclass(frozen=True, slots=True)
class _Returned:
    value: Any


@dataclass(frozen=True, slots=True)
class _Raised:
    error: BaseException
    detail: str


_Outcome = _Returned | _Raised


def _describe(error: BaseException) -> str:
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # a script exception whose __str__ fails still needs a label
        text = type(error).__name__
    return text[:_MAX_DETAIL]


def _invoke(fn: Callable[[], Any], state: _CallState) -> _Outcome:
    """Run script code, turning every exception into a value.

    BaseException too: a script calling `sys.exit()` must not unwind the server, and
    an exception object stored in a Future would be re-raised in the event loop.
    The description is made here, on the script's thread, so a pathological
    `__str__` is bounded by the same timeout.
    """
    _local.state = state
    try:
        return _Returned(fn())
    except BaseException as error:
        return _Raised(error, _describe(error))
    finally:
        _local.state = None


def _call_with_timeout(fn: Callable[[], Any], seconds: float, state: _CallState) -> _Outcome | None:
    """Run `fn` on a throwaway daemon thread; None when it did not finish in time.

    Used for load/destroy, which are rare: a hung `init` then costs one parked
    thread rather than one of the request workers.
    """
    box: list[_Outcome] = []
    thread = threading.Thread(
        target=lambda: box.append(_invoke(fn, state)),
        name=f"revoke-script-admin:{state.script}",
        daemon=True,
    )
    thread.start()
    thread.join(seconds)
    return box[0] if box else None


def _script_print(
    *args: object,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    """`print` for scripts: console output goes to the log (redacted), not to stdout."""
    if file is not None and file is not sys.stdout and file is not sys.stderr:
        print(*args, sep=sep, end=end, file=file, flush=flush)  # an explicit stream is honoured
        return
    state: _CallState | None = getattr(_local, "state", None)
    text = (" " if sep is None else sep).join(str(arg) for arg in args)
    script = state.script if state else "?"
    logger.info("revoke_token script %s: %s", script, redact(text, state.secrets if state else ()))


# -------------------------------------------------------------------------- worker pool


class _PoolSaturatedError(RuntimeError):
    pass


class _DaemonPool:
    """A bounded pool of *daemon* worker threads.

    `ThreadPoolExecutor` joins its workers at interpreter exit, so one script stuck
    in `while True` would keep the server from ever shutting down. Calls beyond the
    worker count queue; callers time out and cancel their futures, which are then
    skipped. The queue is bounded so hung workers cannot make it grow forever.
    """

    def __init__(self, max_workers: int, max_queued: int) -> None:
        self._max_workers = max_workers
        self._max_queued = max_queued
        self._pending: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._cond = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("script executor is closed")
            if len(self._pending) >= self._max_queued:
                self._pending = deque(item for item in self._pending if not item[0].cancelled())
                if len(self._pending) >= self._max_queued:
                    raise _PoolSaturatedError("all script workers are busy")
            self._pending.append((future, fn))
            if len(self._pending) > self._idle and len(self._workers) < self._max_workers:
                self._spawn_locked()
            self._cond.notify()
        return future

    def _spawn_locked(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"revoke-script-{len(self._workers)}", daemon=True
        )
        self._workers.append(thread)
        thread.start()

    def _next_locked(self) -> tuple[Future[Any], Callable[[], Any]] | None:
        while not self._pending and not self._closed:
            self._idle += 1
            self._cond.wait()
            self._idle -= 1
        return None if self._closed else self._pending.popleft()

    def _work(self) -> None:
        while True:
            with self._cond:
                item = self._next_locked()
            if item is None:
                return
            future, fn = item
            if not future.set_running_or_notify_cancel():
                continue  # its caller already timed out
            try:
                future.set_result(fn())
            except BaseException as error:
                future.set_exception(error)

    def shutdown(self) -> None:
        """Cancel queued calls and let idle workers exit; never waits for hung ones."""
        with self._cond:
            self._closed = True
            pending, self._pending = self._pending, deque()
            self._cond.notify_all()
        for future, _ in pending:
            future.cancel()


# -------------------------------------------------------------------- script modules


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
                raise ModuleNotFoundError(
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


def _compile(source: str, name: str) -> CodeType:
    try:
        # dont_inherit: this module's `from __future__` flags must not leak into scripts.
        return compile(source, f"<revoke_token script {name}>", "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ScriptError(
            f"syntax error at line {error.lineno}: {error.msg} (scripts must use Python 3 syntax)"
        ) from None
    except ValueError as error:  # e.g. NUL bytes in the source
        raise ScriptError(f"cannot compile script: {error}") from None


def _exec_code(code: CodeType, namespace: dict[str, Any]) -> None:
    exec(code, namespace)  # noqa: S102 - scripts are trusted admin code, run like Janssen does


def _exec_module(source: str, name: str, seconds: float) -> dict[str, Any]:
    code = _compile(source, name)
    namespace = _script_globals()
    outcome = _call_with_timeout(partial(_exec_code, code, namespace), seconds, _CallState(name))
    if outcome is None:
        raise ScriptError(f"top-level code did not finish within {seconds:g}s")
    if isinstance(outcome, _Raised):
        raise ScriptError(f"top-level code raised {outcome.detail}")
    return namespace


def _defined_classes(namespace: Mapping[str, Any]) -> dict[str, type]:
    return {
        key: value
        for key, value in namespace.items()
        if isinstance(value, type) and value.__module__ == _SCRIPT_MODULE
    }


def _find_script_class(namespace: Mapping[str, Any]) -> type:
    """Janssen's `RevokeToken` class, or failing that the one class defining `revoke`."""
    classes = _defined_classes(namespace)
    cls = classes.get(SCRIPT_CLASS_NAME)
    if cls is None:
        candidates = [c for c in classes.values() if callable(getattr(c, "revoke", None))]
        if not candidates:
            raise ScriptError(
                f"no class with a revoke(self, context) method; define "
                f"class {SCRIPT_CLASS_NAME}(RevokeTokenType)"
            )
        if len(candidates) > 1:
            names = ", ".join(sorted(c.__name__ for c in candidates))
            raise ScriptError(
                f"several classes define revoke() ({names}); name the script class "
                f"{SCRIPT_CLASS_NAME}"
            )
        cls = candidates[0]
    _check_interface(cls)
    return cls


def _check_interface(cls: type) -> None:
    for method in REQUIRED_METHODS:
        if not callable(getattr(cls, method, None)):
            raise ScriptError(
                f"class {cls.__name__} has no callable {method}() "
                f"(subclass RevokeTokenType to inherit the defaults)"
            )
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return  # no introspectable signature; instantiation will tell
    try:
        signature.bind(0)
    except TypeError as error:
        raise ScriptError(f"{cls.__name__}(currentTimeMillis) cannot be called: {error}") from None


def validate_revoke_script(source: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Raise ScriptError unless `source` is a usable Revoke Token script.

    Executes the module's top-level code once, in a throwaway namespace, under
    `timeout`; does not instantiate the class or call `init`.
    """
    _find_script_class(_exec_module(source, "<validation>", timeout))


# ------------------------------------------------------------------- loaded scripts


@dataclass(frozen=True, slots=True)
class _LoadedScript:
    definition: ScriptDefinition
    instance: Any
    api_version: int
    attributes: ConfigurationAttributes
    custom_script: CustomScriptShim

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def key(self) -> tuple[str, int]:
        return (self.definition.inum, self.definition.revision)

    def renamed(self, definition: ScriptDefinition) -> _LoadedScript:
        """Same instance, with the current name/level (same revision, so same code)."""
        return replace(self, definition=definition, custom_script=CustomScriptShim(definition))


def _snapshot(definition: ScriptDefinition) -> ScriptDefinition:
    # The caller may mutate its records later; keep what was actually loaded.
    return replace(definition, configuration_attributes=dict(definition.configuration_attributes))


def _call_init(instance: Any, custom: CustomScriptShim, attributes: ConfigurationAttributes) -> Any:
    init = instance.init
    try:
        inspect.signature(init).bind(custom, attributes)
    except TypeError:
        return init(attributes)  # Gluu-era init(self, configurationAttributes)
    except ValueError:
        pass  # no introspectable signature: use the current form
    return init(custom, attributes)


def _start_instance(
    cls: type, custom: CustomScriptShim, attributes: ConfigurationAttributes
) -> tuple[Any, int]:
    instance = cls(System.currentTimeMillis())
    reported = instance.getApiVersion()
    try:
        api_version = operator.index(reported)
    except TypeError:
        raise ScriptError(f"getApiVersion() returned {reported!r}, expected an int") from None
    if not _call_init(instance, custom, attributes):
        raise ScriptError("init() returned False")
    return instance, api_version


def _load_one(definition: ScriptDefinition, seconds: float) -> _LoadedScript:
    cls = _find_script_class(_exec_module(definition.source, definition.name, seconds))
    attributes = ConfigurationAttributes(definition.configuration_attributes)
    custom = CustomScriptShim(definition)
    outcome = _call_with_timeout(
        partial(_start_instance, cls, custom, attributes), seconds, _CallState(definition.name)
    )
    if outcome is None:
        raise ScriptError(f"initialisation did not finish within {seconds:g}s")
    if isinstance(outcome, _Raised):
        if isinstance(outcome.error, ScriptError):
            raise outcome.error
        raise ScriptError(f"initialisation failed: {outcome.detail}")
    instance, api_version = outcome.value
    return _LoadedScript(definition, instance, api_version, attributes, custom)


def _destroy(script: _LoadedScript, seconds: float) -> None:
    outcome = _call_with_timeout(
        lambda: script.instance.destroy(script.attributes), seconds, _CallState(script.name)
    )
    if outcome is None:
        logger.warning("revoke_token script %r: destroy() timed out", script.name)
    elif isinstance(outcome, _Raised):
        logger.warning("revoke_token script %r: destroy() failed: %s", script.name, outcome.detail)


def _revoke(instance: Any, context: RevokeTokenContext) -> tuple[bool, str]:
    # Truthiness is evaluated here, on the worker, so even a slow __bool__ is timed.
    result = instance.revoke(context)
    return (True, "") if result else (False, type(result).__name__)


def _wanted(scripts: Sequence[ScriptDefinition]) -> list[ScriptDefinition]:
    enabled = (s for s in scripts if s.enabled and s.script_type == REVOKE_TOKEN)
    return sorted(enabled, key=lambda s: (s.level, s.name))


@dataclass(frozen=True, slots=True)
class _RequestShims:
    """Per-request objects shared by every script's context."""

    request: HttpServletRequestShim
    response: HttpServletResponseShim
    client: ClientShim | None
    builder: ResponseBuilderShim

    @classmethod
    def of(cls, request: RevokeScriptRequest) -> _RequestShims:
        builder = ResponseBuilderShim()
        return cls(
            HttpServletRequestShim(request.params, request.headers, request.remote_addr),
            HttpServletResponseShim(builder),
            ClientShim(request.client) if request.client is not None else None,
            builder,
        )

    def context(self, script: _LoadedScript) -> RevokeTokenContext:
        return RevokeTokenContext(
            self.request,
            self.response,
            self.client,
            self.builder,
            script.attributes,
            script.custom_script,
        )


# ------------------------------------------------------------------------------ engine


def _check_timeout(seconds: float) -> float:
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"script timeout must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


class RevokeTokenScripts:
    """The loaded Revoke Token scripts and the workers that run them."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_workers: int = 4) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._timeout = _check_timeout(timeout)
        self._max_workers = max_workers
        self._pool = self._new_pool()
        self._lock = threading.Lock()  # serialises load/close; run() only reads snapshots
        self._loaded: tuple[_LoadedScript, ...] = ()
        self._runnable: tuple[_LoadedScript, ...] = ()

    def _new_pool(self) -> _DaemonPool:
        return _DaemonPool(self._max_workers, self._max_workers * _QUEUED_PER_WORKER)

    @property
    def active(self) -> bool:
        """True when at least one script will run (API version > 1)."""
        return bool(self._runnable)

    def set_timeout(self, seconds: float) -> None:
        self._timeout = _check_timeout(seconds)

    def load(self, scripts: Sequence[ScriptDefinition]) -> list[tuple[str, str]]:
        """(Re)load the enabled revoke_token scripts; returns (name, error) for failures.

        Blocking (up to two timeouts per new script): call it off the event loop.
        """
        failures: list[tuple[str, str]] = []
        with self._lock:
            seconds = self._timeout
            previous = {script.key: script for script in self._loaded}
            loaded: list[_LoadedScript] = []
            seen: set[str] = set()
            for definition in _wanted(scripts):
                if definition.inum in seen:
                    failures.append((definition.name, f"duplicate inum {definition.inum}"))
                    continue
                seen.add(definition.inum)
                snapshot = _snapshot(definition)
                kept = previous.pop((snapshot.inum, snapshot.revision), None)
                if kept is not None:
                    loaded.append(kept.renamed(snapshot))
                    continue
                try:
                    loaded.append(_load_one(snapshot, seconds))
                except ScriptError as error:
                    logger.warning("revoke_token script %r not loaded: %s", definition.name, error)
                    failures.append((definition.name, str(error)))
            self._loaded = tuple(loaded)
            self._runnable = tuple(script for script in loaded if script.api_version > 1)
            for stale in previous.values():
                _destroy(stale, seconds)
        return failures

    async def run(self, request: RevokeScriptRequest) -> ScriptVerdict:
        """Run each script's revoke(context) in order; the first refusal stops revocation."""
        scripts = self._runnable
        if not scripts:
            return ScriptVerdict(allowed=True)
        seconds = self._timeout
        secrets = _request_secrets(request)
        shims = _RequestShims.of(request)
        try:
            for script in scripts:
                stopped = await self._run_one(script, shims.context(script), secrets, seconds)
                if stopped is not None:
                    outcome, detail = stopped
                    return self._stopped(script, outcome, redact(detail, secrets), request, shims)
        finally:
            shims.builder.seal()  # a script thread still running must not add headers later
        return ScriptVerdict(allowed=True, response_headers=shims.builder.seal())

    async def _run_one(
        self,
        script: _LoadedScript,
        context: RevokeTokenContext,
        secrets: tuple[str, ...],
        seconds: float,
    ) -> tuple[str, str] | None:
        """None when the script allows; otherwise (outcome, detail)."""
        call = partial(
            _invoke, partial(_revoke, script.instance, context), _CallState(script.name, secrets)
        )
        try:
            future = self._pool.submit(call)
        except _PoolSaturatedError as error:
            return "timeout", str(error)
        except RuntimeError as error:  # closed concurrently
            return "error", str(error)
        try:
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), seconds)
        except TimeoutError:
            return "timeout", f"revoke() did not return within {seconds:g}s"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # our caller is cancelling us
            return "error", "script engine closed while revoke() was queued"
        if isinstance(outcome, _Raised):
            return "error", outcome.detail
        allowed, returned = outcome.value
        return None if allowed else ("veto", f"revoke() returned a false value ({returned})")

    @staticmethod
    def _stopped(
        script: _LoadedScript,
        outcome: str,
        detail: str,
        request: RevokeScriptRequest,
        shims: _RequestShims,
    ) -> ScriptVerdict:
        client_id = request.client.client_id if request.client is not None else None
        SCRIPT_STOPS.labels(script.name, outcome).inc()
        logger.warning(
            "revoke_token script %r stopped revocation: outcome=%s client=%s detail=%s",
            script.name,
            outcome,
            client_id,
            detail,
        )
        return ScriptVerdict(
            allowed=False,
            script=script.name,
            outcome=outcome,
            detail=detail,
            response_headers=shims.builder.seal(),
        )

    def close(self) -> None:
        """destroy() every script and stop the workers without waiting for hung ones."""
        with self._lock:
            loaded, self._loaded, self._runnable = self._loaded, (), ()
            pool, self._pool = self._pool, self._new_pool()
            pool.shutdown()
            for script in loaded:
                _destroy(script, self._timeout)
