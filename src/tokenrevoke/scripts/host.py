"""The worker that holds the loaded scripts: what it has loaded, and its restarts.

One worker process per server process, started only while at least one script is enabled.
Calls into it are serialised (one request in flight). When a call misses its deadline or
the worker dies, it is killed; the call fails (the runner then applies Janssen's rule for
a failed script) and a fresh worker is started in the background with the same scripts.

A script that fails to load is left out and logged; one that kills or hangs the worker
while loading is also remembered as broken until its revision changes, so it is not tried
again at every restart. Nothing here can stop the server from starting or serving.
"""

from __future__ import annotations

import ast
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tokenrevoke.model.script import REVOKE_TOKEN, ScriptDefinition
from tokenrevoke.scripts.janssen_shims import supported_modules
from tokenrevoke.scripts.process import WorkerFailed, WorkerProcess, start_worker
from tokenrevoke.scripts.protocol import ScriptError, failure_message

logger = logging.getLogger("tokenrevoke.scripts")

REDACTED = "[redacted]"
_MAX_LOGGED = 1000


@dataclass(frozen=True, slots=True)
class LoadedScript:
    definition: ScriptDefinition
    api_version: int

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def key(self) -> tuple[str, int]:
        return (self.definition.inum, self.definition.revision)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def log_prints(script: str, reply: dict[str, Any], secrets: Sequence[str] = ()) -> None:
    """What a script printed, carried back in a reply, into the log (redacted)."""
    lines = reply.get("log")
    if not isinstance(lines, list):
        return
    for line in lines[:_MAX_LOGGED]:
        if isinstance(line, str):
            logger.info("revoke_token script %s: %s", script, redact(line, secrets))


def script_info(definition: ScriptDefinition) -> dict[str, Any]:
    return {
        "inum": definition.inum,
        "name": definition.name,
        "level": definition.level,
        "revision": definition.revision,
        "description": definition.description,
        "script_type": definition.script_type,
        "enabled": definition.enabled,
    }


def wanted(scripts: Sequence[ScriptDefinition]) -> list[ScriptDefinition]:
    """The enabled revoke_token scripts, in running order, each inum once."""
    enabled = (s for s in scripts if s.enabled and s.script_type == REVOKE_TOKEN)
    ordered = sorted(enabled, key=lambda s: (s.level, s.name))
    # The caller may mutate its records later; keep what was actually asked for.
    return [replace(s, configuration_attributes=dict(s.configuration_attributes)) for s in ordered]


def check_syntax(source: str) -> None:
    """Parse only (nothing runs): syntax errors are worded from the source alone."""
    try:
        compile(source, "<revoke_token script>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        raise ScriptError(
            f"syntax error at line {error.lineno}: {error.msg} (scripts must use Python 3 syntax)"
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ScriptError(f"cannot compile script: {type(error).__name__}") from None


def validate_source(source: str, *, timeout: float = 1.0) -> None:
    """Raise ScriptError unless `source` is a usable Revoke Token script, judged by a
    throwaway worker that is killed if its top-level code outlives `timeout`."""
    check_syntax(source)
    try:
        worker = start_worker()
    except WorkerFailed:
        raise ScriptError("the script worker could not be started") from None
    try:
        reply = worker.call({"op": "validate", "source": source}, timeout)
    except WorkerFailed as error:
        if error.timed_out:
            raise ScriptError(f"the script did not finish loading within {timeout:g} s") from None
        raise ScriptError(
            "loading the script ended its interpreter; a script must not exit or crash the process"
        ) from None
    finally:
        worker.kill()
    if reply.get("ok") is not True:
        raise ScriptError(failure_message(reply.get("failure"), source, supported_modules()))


class _Restart(Exception):
    pass


class ScriptHost:
    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._worker: WorkerProcess | None = None
        self._loaded: dict[str, LoadedScript] = {}  # by inum: what the worker holds
        self._wanted: list[ScriptDefinition] = []
        self._broken: set[tuple[str, int]] = set()
        self._timeout = 1.0
        self._restarting = False
        self._closed = False
        self._runnable: tuple[LoadedScript, ...] = ()

    @property
    def runnable(self) -> tuple[LoadedScript, ...]:
        """The loaded scripts that run (API version > 1), in order."""
        return self._runnable

    @property
    def worker_pid(self) -> int | None:
        worker = self._worker
        return worker.pid if worker is not None else None

    # -- loading ------------------------------------------------------------------------
    def load(self, scripts: Sequence[ScriptDefinition], timeout: float) -> list[tuple[str, str]]:
        """Make the worker hold exactly `scripts` (enabled revoke_token ones); returns
        (name, reason) for each that could not be loaded. Blocking."""
        with self._ready:
            self._closed = False
            self._wanted = wanted(scripts)
            self._timeout = timeout
            try:
                return self._sync()
            except Exception:  # never fatal: the server serves without its scripts
                logger.exception("revoke_token scripts could not be loaded; all are disabled")
                self._stop_worker()
                self._publish()
                return [(s.name, "the script worker failed") for s in self._wanted]

    def _sync(self) -> list[tuple[str, str]]:
        """Called with the lock held. Loads what is wanted, restarting the worker as
        often as loading kills it (each time one script fewer: it ends)."""
        failures: dict[str, str] = {}
        while True:
            try:
                self._sync_once(failures)
                break
            except _Restart:
                continue
        self._publish()
        for name, reason in failures.items():
            logger.error("revoke_token script %r is disabled: it failed to load: %s", name, reason)
        return sorted(failures.items())

    def _sync_once(self, failures: dict[str, str]) -> None:
        by_inum: dict[str, ScriptDefinition] = {}
        for definition in self._wanted:
            if definition.inum in by_inum:
                failures[definition.name] = f"duplicate inum {definition.inum}"
            elif (definition.inum, definition.revision) in self._broken:
                failures.setdefault(
                    definition.name, "it ended or hung the script worker when last loaded"
                )
            else:
                by_inum[definition.inum] = definition
        if not by_inum:
            self._stop_worker()
            return
        if self._worker is None or not self._worker.alive:
            self._loaded = {}
            try:
                self._worker = start_worker()
            except WorkerFailed as error:
                self._worker = None
                for definition in by_inum.values():
                    failures[definition.name] = f"the script worker could not start: {error}"
                return
        for inum, script in list(self._loaded.items()):
            current = by_inum.get(inum)
            if current is not None and current.revision == script.definition.revision:
                self._loaded[inum] = replace(script, definition=current)  # name/level
                continue
            del self._loaded[inum]
            self._destroy(script)
        for definition in by_inum.values():
            if definition.inum not in self._loaded:
                failures.pop(definition.name, None)
                self._load_one(definition, failures)

    def _load_one(self, definition: ScriptDefinition, failures: dict[str, str]) -> None:
        assert self._worker is not None
        request = {
            "op": "load",
            "script": script_info(definition),
            "source": definition.source,
            "attributes": definition.configuration_attributes,
        }
        try:
            # Top-level code and init() are each allowed the timeout.
            reply = self._worker.call(request, 2 * self._timeout)
        except WorkerFailed as error:
            self._broken.add((definition.inum, definition.revision))
            failures[definition.name] = (
                f"loading it did not finish within {2 * self._timeout:g} s; the worker was killed"
                if error.timed_out
                else f"loading it ended the script worker ({error})"
            )
            self._worker, self._loaded = None, {}
            raise _Restart from None
        log_prints(definition.name, reply)
        api_version = reply.get("api_version")
        if reply.get("ok") is True and type(api_version) is int:
            self._loaded[definition.inum] = LoadedScript(definition, api_version)
        else:
            failures[definition.name] = failure_message(
                reply.get("failure"), definition.source, supported_modules()
            )

    def _destroy(self, script: LoadedScript) -> None:
        assert self._worker is not None
        try:
            request = {"op": "destroy", "inum": script.definition.inum}
            reply = self._worker.call(request, self._timeout)
        except WorkerFailed as error:
            logger.warning("revoke_token script %r: destroy() failed: %s", script.name, error)
            self._worker, self._loaded = None, {}
            raise _Restart from None
        log_prints(script.name, reply)
        if reply.get("ok") is not True:
            logger.warning("revoke_token script %r: destroy() failed", script.name)

    def _publish(self) -> None:
        order = {d.inum: i for i, d in enumerate(self._wanted)}
        runnable = [s for s in self._loaded.values() if s.api_version > 1]
        self._runnable = tuple(sorted(runnable, key=lambda s: order.get(s.definition.inum, 0)))
        self._ready.notify_all()

    def _stop_worker(self) -> None:
        worker, self._worker, self._loaded = self._worker, None, {}
        if worker is not None:
            worker.close()

    # -- calls --------------------------------------------------------------------------
    def call(
        self, script: LoadedScript, request: dict[str, Any], deadline: float
    ) -> dict[str, Any]:
        """Run one request against `script` in the worker by `deadline` (monotonic).

        Raises WorkerFailed when the worker is busy past the deadline, restarting, hung
        (it is killed) or dead; a fresh worker is then started in the background."""
        seconds = deadline - time.monotonic()
        if seconds <= 0 or not self._ready.acquire(timeout=seconds):
            raise WorkerFailed("the script worker stayed busy", timed_out=True)
        try:
            while self._worker is None and self._restarting:
                left = deadline - time.monotonic()
                if left <= 0 or not self._ready.wait(left):
                    raise WorkerFailed("the script worker is restarting", timed_out=True)
            worker = self._worker
            if worker is None or script.definition.inum not in self._loaded:
                raise WorkerFailed("the script is no longer loaded", timed_out=False)
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerFailed("the script worker stayed busy", timed_out=True)
            try:
                return worker.call(request, left)
            except WorkerFailed as error:
                logger.warning(
                    "revoke_token script %r: the script worker (pid %d) was stopped: %s; "
                    "restarting it",
                    script.name,
                    worker.pid,
                    error,
                )
                self._worker, self._loaded = None, {}
                self._restart_later()
                raise
        finally:
            self._ready.release()

    def _restart_later(self) -> None:
        if self._restarting or self._closed:
            return
        self._restarting = True
        threading.Thread(target=self._restart, name="revoke-script-restart", daemon=True).start()

    def _restart(self) -> None:
        with self._ready:
            try:
                if not self._closed:
                    self._sync()
            finally:
                self._restarting = False
                self._ready.notify_all()

    def close(self) -> None:
        """destroy() every script and stop the worker (killed if it does not exit)."""
        with self._ready:
            self._closed = True
            self._wanted = []
            for script in list(self._loaded.values()):
                try:
                    self._destroy(script)
                except _Restart:
                    break
            self._stop_worker()
            self._runnable = ()
            self._ready.notify_all()
