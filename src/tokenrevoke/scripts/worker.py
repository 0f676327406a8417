"""The script worker: a separate process that loads and runs Revoke Token scripts.

Started by `process.py` with a clean environment, in `/`, as `python -I`. It imports the
standard library, the Janssen shims and the loader, nothing else of tokenrevoke: no store,
no crypto, no configuration, so there is no master key, database handle or secret of the
server's in its memory (docs/security.md). It reads one request frame at a time on its
stdin and writes one reply frame on its stdout (`protocol.py`); file descriptors 0 and 1
are pointed at /dev/null once the protocol has its own copies, so a script's stray output
cannot corrupt a frame, and its prints travel back with the reply to the server's log.

When the server goes away (its pipe closes, or its process is gone) the worker exits.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from tokenrevoke.scripts import loader, protocol
from tokenrevoke.scripts.janssen_shims import (
    ClientShim,
    ConfigurationAttributes,
    CustomScriptShim,
    HttpServletRequestShim,
    HttpServletResponseShim,
    ResponseBuilderShim,
    RevokeTokenContext,
    ScriptClient,
    ScriptInfo,
)

_MAX_DETAIL = 300


def _describe(error: BaseException) -> str:
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # a script exception whose __str__ fails still needs a label
        text = type(error).__name__
    return text[:_MAX_DETAIL]


def _info(data: dict[str, Any]) -> ScriptInfo:
    return ScriptInfo(
        inum=str(data["inum"]),
        name=str(data["name"]),
        level=int(data.get("level", 100)),
        revision=int(data.get("revision", 0)),
        description=str(data.get("description", "")),
        script_type=str(data.get("script_type", "revoke_token")),
        enabled=bool(data.get("enabled", True)),
    )


class _Loaded:
    __slots__ = ("attributes", "instance")

    def __init__(self, instance: Any, attributes: ConfigurationAttributes) -> None:
        self.instance = instance
        self.attributes = attributes


class _Replies:
    """The reply pipe: whole frames only, whichever thread writes."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        with self._lock:
            _write_all(self._fd, data)

    def header(self, name: str, value: str) -> None:
        """An interim frame: a header the running script added."""
        self.send({"header": [name, value]})


class Worker:
    """The loaded scripts of this process, by inum, and the requests that act on them."""

    def __init__(self, replies: _Replies) -> None:
        self._scripts: dict[str, _Loaded] = {}
        self._replies = replies

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "hello":
            return {"ok": True, "pid": os.getpid()}
        if op == "validate":
            return self._guarded(lambda: loader.validate(str(request["source"])))
        if op == "load":
            return self._load(request)
        if op == "destroy":
            return self._destroy(str(request["inum"]))
        if op == "revoke":
            return self._revoke(request)
        return {"ok": False, "detail": f"unknown request {op!r}"}

    @staticmethod
    def _guarded(action: Any) -> dict[str, Any]:
        try:
            action()
        except loader.LoadFailure as failure:
            return {"ok": False, "failure": failure.fields}
        return {"ok": True}

    def _load(self, request: dict[str, Any]) -> dict[str, Any]:
        info = _info(request["script"])
        attributes = ConfigurationAttributes(request.get("attributes") or {})
        try:
            instance, api_version = loader.start_instance(
                str(request["source"]), info.name, CustomScriptShim(info), attributes
            )
        except loader.LoadFailure as failure:
            return {"ok": False, "failure": failure.fields}
        self._scripts[info.inum] = _Loaded(instance, attributes)
        return {"ok": True, "api_version": api_version}

    def _destroy(self, inum: str) -> dict[str, Any]:
        loaded = self._scripts.pop(inum, None)
        if loaded is None:
            return {"ok": True}
        try:
            loaded.instance.destroy(loaded.attributes)
        except BaseException as error:
            return {"ok": False, "detail": _describe(error)}
        return {"ok": True}

    def _revoke(self, request: dict[str, Any]) -> dict[str, Any]:
        info = _info(request["script"])
        loaded = self._scripts.get(info.inum)
        if loaded is None:
            return {"ok": False, "detail": "script not loaded in the worker"}
        data = request["request"]
        builder = ResponseBuilderShim(self._replies.header)
        client = data.get("client")
        context = RevokeTokenContext(
            HttpServletRequestShim(data["params"], data["headers"], data.get("remote_addr")),
            HttpServletResponseShim(builder),
            ClientShim(ScriptClient(**client)) if client else None,
            builder,
            loaded.attributes,
            CustomScriptShim(info),
        )
        try:
            result = loaded.instance.revoke(context)
            allowed = bool(result)  # a slow __bool__ is timed like the call itself
        except BaseException as error:  # SystemExit too: the worker must answer
            builder.seal()
            return {"ok": False, "detail": _describe(error)}
        builder.seal()
        return {"ok": True, "allowed": allowed, "returned": type(result).__name__}


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _watch_parent(parent: int) -> None:
    # A script stuck in the main thread never reads the closed pipe: notice the orphaning.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = sys.stderr = loader.LogStream()
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    out = _Replies(replies)
    worker = Worker(out)
    while True:
        header = _read_exactly(requests, protocol.HEADER_SIZE)
        if header is None:
            os._exit(0)
        body = _read_exactly(requests, protocol.frame_length(header))
        if body is None:
            os._exit(0)
        try:
            reply = worker.handle(protocol.decode(body))
        except Exception as error:  # a malformed request: say so rather than die
            reply = {"ok": False, "detail": f"bad request: {type(error).__name__}"}
        reply["log"] = loader.drain_log()
        out.send(reply)


if __name__ == "__main__":
    main()
