"""The ceiling run: bench.hello on the server's stack (uvicorn with tokenrevoke's httptools
protocol, uvloop), one process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.common import RunContext, log
from bench.population import write_introspection_mix
from bench.procs import HOST, BenchError, child_env, free_port, rss_mb, wait_http
from bench.wrk import Load

ROOT = Path(__file__).resolve().parent.parent


def run_ceiling(ctx: RunContext, authorization: str, samples: Path) -> dict[str, Any]:
    """POST the introspection load's bodies (and Authorization header) to the hello app."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.hello", "--host", HOST, "--port", str(port)]
    env = child_env({"PYTHONPATH": str(ROOT)})
    child = ctx.supervisor.start("ceiling", argv, env=env, cwd=ROOT, cpus=ctx.server_cpus)
    base_url = f"http://{HOST}:{port}"
    try:
        wait_http(child, f"{base_url}/", timeout=30)
        mix = write_introspection_mix(samples)
        log("ceiling: raw ASGI hello, POST with a small form body")
        result = ctx.run(
            base_url, Load("token", "/", mix, authorization=authorization), server=child
        )
        rss, peak = rss_mb(child.pid)
        if not child.alive():
            raise BenchError(f"the ceiling app died:\n{child.log_tail()}")
    finally:
        ctx.supervisor.stop(child)
    log(
        f"ceiling: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms, server CPU "
        f"{result.server_cpu_us} us per request"
    )
    return {
        "software": "raw ASGI app (bench/hello.py) on uvicorn + tokenrevoke's httptools "
        "protocol (web/protocol.py) + uvloop",
        "workloads": {"hello": result.to_json()},
        "rss_mb": rss,
        "peak_rss_mb": peak,
    }
