"""Processes the harness starts: loopback only, stopped on every way out, bounded in time.

Every child runs in its own session (so a Ctrl-C in the terminal reaches only the harness,
which then stops the children itself) and gets SIGTERM from the kernel if the harness dies
without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class BenchError(RuntimeError):
    """A failure the harness reports plainly (no traceback)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The harness's environment without any TOKENREVOKE_* setting that could change how a
    server runs (workers, database URL, ...), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENREVOKE_")}
    env.update(extra or {})
    return env


def _preexec(cpus: frozenset[int] | None) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if cpus:
            os.sched_setaffinity(0, cpus)

    return run


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Supervisor:
    """Starts children and stops every one of them on exit, however the harness exits."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        cpus: frozenset[int] | None = None,
        stdin_pipe: bool = False,
    ) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            env=dict(env) if env is not None else child_env(),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_preexec(cpus),
        )
        child = Child(name, process, log_path, log_file)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 15.0) -> None:
        process = child.process
        if process.poll() is None:
            # The child leads its own process group: signal the group, which holds only
            # what this child started.
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        child.log_file.close()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            with contextlib.suppress(Exception):
                self.stop(child)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_http(child: Child, url: str, timeout: float) -> None:
    """Wait until `url` answers 2xx, failing early if the child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise BenchError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code < 300:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(
        f"{child.name} did not answer {url} within {timeout:.0f}s:\n{child.log_tail()}"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()  # the name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every CPU since boot, from /proc/stat (idle and iowait
    are not busy; steal is: another guest had the CPU)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    total = sum(fields)
    return total - fields[3] - fields[4], total


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc/<pid>/status."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0]) / 1024.0
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


class TimeBudget:
    """SIGALRM after `seconds`: the run stops (and its children with it) instead of hanging.
    SIGTERM and SIGHUP end the run the same orderly way."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    @staticmethod
    def _expired(signum: int, frame: FrameType | None) -> None:
        raise BenchError("the run exceeded its time limit (--time-limit)")

    @staticmethod
    def _terminated(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        previous = {s: signal.getsignal(s) for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGHUP)}
        signal.signal(signal.SIGALRM, self._expired)
        signal.signal(signal.SIGTERM, self._terminated)
        signal.signal(signal.SIGHUP, self._terminated)
        signal.alarm(self.seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
