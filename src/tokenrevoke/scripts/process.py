"""One script worker process, seen from the server: start it, ask it, kill it.

The worker (`worker.py`) is started with `python -I` (no PYTHON* variables, no user
site), an environment holding only PATH and LANG (so never TOKENREVOKE_MASTER_KEY, a
database URL or a Redis password), `/` as its working directory and its own session.
Every call has a deadline; a worker that misses it, dies, or sends a broken frame is
killed (SIGKILL) and the call fails with `WorkerFailed`. Callers serialise calls.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tokenrevoke
from tokenrevoke.scripts import protocol

#: Start-up of a fresh interpreter is not the script's time: allowed on top of timeouts.
STARTUP_SECONDS = 10.0
_MAX_INTERIM = 100
_SOURCE_ROOT = str(Path(tokenrevoke.__file__).resolve().parent.parent)
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from tokenrevoke.scripts.worker import main; main()"
)


class WorkerFailed(RuntimeError):
    """The worker did not answer: `timed_out` tells a missed deadline from a crash;
    `interim` holds the interim frames that came before."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.interim: list[dict[str, Any]] = []


def clean_environment() -> dict[str, str]:
    return {"PATH": os.defpath, "LANG": "C.UTF-8"}


class WorkerProcess:
    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, _SOURCE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=clean_environment(),
            cwd="/",
            close_fds=True,
            start_new_session=True,  # a ^C to the server's group is the server's to handle
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._out = self._process.stdin.fileno()
        self._in = self._process.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buffer = b""
        self.pid = self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def call(self, request: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Send one request and read its reply within `seconds`; WorkerFailed otherwise
        (the worker is then already killed). Interim frames (those with a `header`)
        are gathered into the reply's `interim` list."""
        deadline = time.monotonic() + seconds
        interim: list[dict[str, Any]] = []
        try:
            self._send(protocol.encode(request), deadline)
            while True:
                header = self._receive(protocol.HEADER_SIZE, deadline, seconds)
                frame = protocol.decode(
                    self._receive(protocol.frame_length(header), deadline, seconds)
                )
                if "header" not in frame:
                    frame["interim"] = interim
                    return frame
                if len(interim) < _MAX_INTERIM:
                    interim.append(frame)
        except WorkerFailed as error:
            self.kill()
            error.interim = interim
            raise
        except (protocol.ProtocolError, OSError) as error:
            self.kill()
            message = f"the worker broke the protocol ({error})"
            raise WorkerFailed(message, timed_out=False) from None

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self._out, select.POLLOUT, deadline, 0)
            try:
                view = view[os.write(self._out, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise WorkerFailed(self._ended(), timed_out=False) from None

    def _receive(self, size: int, deadline: float, seconds: float) -> bytes:
        while len(self._buffer) < size:
            self._wait(self._in, select.POLLIN, deadline, seconds)
            chunk = os.read(self._in, 65536)
            if not chunk:
                raise WorkerFailed(self._ended(), timed_out=False)
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _wait(self, fd: int, event: int, deadline: float, seconds: float) -> None:
        poller = select.poll()
        poller.register(fd, event)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerFailed(f"no answer within {seconds:g} s", timed_out=True)
            if poller.poll(left * 1000):
                return

    def _ended(self) -> str:
        try:
            status = self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "the worker closed its pipe"
        if status < 0:
            return f"the worker process was killed by signal {-status}"
        return f"the worker process exited (status {status})"

    def kill(self) -> None:
        if self._process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # threads and children it started, too
            except OSError:
                self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self, seconds: float = 1.0) -> None:
        """Close the pipe (the worker exits on EOF); kill it if it lingers."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=seconds)
        self.kill()


def start_worker() -> WorkerProcess:
    """A worker that has answered `hello`."""
    try:
        worker = WorkerProcess()
    except OSError as error:  # no memory, no file descriptors, no interpreter...
        raise WorkerFailed(f"cannot start a worker: {error}", timed_out=False) from None
    reply = worker.call({"op": "hello"}, STARTUP_SECONDS)
    if reply.get("ok") is not True:
        worker.kill()
        raise WorkerFailed("the worker did not start", timed_out=False)
    return worker
