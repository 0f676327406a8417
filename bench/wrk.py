"""Running wrk with bench/load.lua and reading its result."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.procs import BenchError, child_env

LUA = Path(__file__).with_name("load.lua")
_MARK = "BENCH_RESULT "


def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError(
            "wrk is not installed and this is not root: install it with "
            "`sudo apt-get install -y wrk` (Debian/Ubuntu) and run again"
        )
    if shutil.which("apt-get") is None:
        raise BenchError("wrk is not installed and there is no apt-get to install it with")
    env = child_env({"DEBIAN_FRONTEND": "noninteractive"})
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        # The package lists may be missing or stale: refresh them once and try again.
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(install, env=env, capture_output=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("could not install wrk with apt-get (`apt-get install -y wrk`)")
    return found


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    text = (out.stdout or out.stderr).strip().splitlines()
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
    return text[0].split(" Copyright")[0].strip() if text else "wrk (unknown version)"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One wrk run. Latencies in milliseconds. `non_2xx` is wrk's count of responses with
    a status of 400 or more; `socket_errors` are connect, read, write errors and timeouts."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non_2xx: int
    socket_errors: int
    reused_tokens: int
    connections: int
    threads: int
    # The server's CPU time (all threads) per request over the load, when it was known:
    # steadier than req/s on a shared machine, and what the optimisation work steers by.
    server_cpu_us: float | None = None
    # How many CPUs the server kept busy (its CPU seconds per second), and the share of all
    # the machine's CPUs that were busy (server, wrk and everything else), in percent: a
    # server that is slow on a half-idle machine is bound by its own threads, not the CPUs.
    server_cpus: float | None = None
    machine_busy_pct: float | None = None

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["errors"] = self.errors
        return out


@dataclass(frozen=True, slots=True)
class Load:
    """What to send: a mode of load.lua and its arguments."""

    mode: str  # issue | token | mixed
    path_a: str
    file_a: Path | None = None
    path_b: str | None = None
    file_b: Path | None = None
    authorization: str | None = None


def run_wrk(
    wrk: str,
    base_url: str,
    load: Load,
    *,
    duration: float,
    connections: int,
    threads: int,
    cpus: frozenset[int] | None = None,
    log_path: Path | None = None,
) -> LoadResult:
    seconds = max(1, round(duration))
    argv = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
        "-s", str(LUA), base_url, "--", load.mode, load.authorization or "-", str(threads),
        load.path_a, str(load.file_a or "-"), load.path_b or "-", str(load.file_b or "-"),
    ]  # fmt: skip
    if cpus:
        argv = ["taskset", "-c", ",".join(str(c) for c in sorted(cpus)), *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {seconds + 60}s") from exc
    if log_path is not None:
        with log_path.open("a") as log:
            log.write(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}\n")
    line = next((x for x in done.stdout.splitlines() if x.startswith(_MARK)), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw: dict[str, Any] = orjson.loads(line[len(_MARK) :])
    elapsed = raw["duration_us"] / 1e6
    return LoadResult(
        requests=int(raw["requests"]),
        seconds=round(elapsed, 2),
        rps=round(raw["requests"] / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        non_2xx=int(raw["status_errors"]),
        socket_errors=int(
            raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
        ),
        reused_tokens=int(raw["reused_a"]),
        connections=connections,
        threads=threads,
    )
