"""The peer, node's oidc-provider: install it from the lock file, seed it, measure it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import Endpoints, RunContext, Target, log, measure, preflight
from bench.procs import HOST, BenchError, child_env, free_port, rss_mb, wait_http

PEER_DIR = Path(__file__).with_name("peer")
CLIENT_ID = "bench-load"
CLIENT_SECRET = "bench-load-secret-0123456789"
ENDPOINTS = Endpoints("/token", "/token/revocation", "/token/introspection")
MIN_NODE = 18


def cache_root() -> Path:
    explicit = os.environ.get("TOKENREVOKE_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tokenrevoke-bench"


def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


def require_node() -> str:
    version = node_version()
    if version is None or shutil.which("npm") is None:
        raise BenchError(
            "node and npm are needed for the peer (Debian: `apt-get install -y nodejs npm`); "
            "or run with --skip-peer"
        )
    major = int(version.lstrip("v").split(".")[0])
    if major < MIN_NODE:
        raise BenchError(f"node {version} is too old for oidc-provider (need {MIN_NODE}+)")
    return version


def install_peer() -> Path:
    """node_modules for bench/peer/package-lock.json, in a cache directory keyed by the lock
    file (never in the work tree); `npm ci` runs only when the lock file changed."""
    lock = (PEER_DIR / "package-lock.json").read_bytes()
    manifest = (PEER_DIR / "package.json").read_bytes()
    digest = hashlib.sha256(lock + manifest).hexdigest()[:16]
    home = cache_root() / f"peer-{digest}"
    marker = home / ".installed"
    if not marker.exists():
        log(f"peer: npm ci into {home}")
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_bytes(manifest)
        (home / "package-lock.json").write_bytes(lock)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=600,
            env=child_env(),
        )
        if done.returncode != 0:
            raise BenchError(f"npm ci failed in {home}:\n{done.stdout}\n{done.stderr}")
        marker.write_text(digest)
    # The server script lives beside node_modules so that its imports resolve there.
    shutil.copyfile(PEER_DIR / "server.mjs", home / "server.mjs")
    return home


def oidc_provider_version(home: Path) -> str:
    package = home / "node_modules" / "oidc-provider" / "package.json"
    data: dict[str, Any] = orjson.loads(package.read_bytes())
    return str(data.get("version", "unknown"))


def _wait_ready(target_log: Path, child_alive: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = target_log.read_text(errors="replace") if target_log.exists() else ""
        for line in text.splitlines():
            if line.startswith("READY "):
                ready: dict[str, Any] = orjson.loads(line[len("READY ") :])
                return ready
        if not child_alive():
            raise BenchError(f"the peer exited while seeding:\n{text[-3000:]}")
        time.sleep(0.2)
    raise BenchError(f"the peer was not ready within {timeout:.0f}s")


def run_peer(ctx: RunContext, time_left: float) -> dict[str, Any]:
    version = require_node()
    home = install_peer()
    provider_version = oidc_provider_version(home)
    samples = ctx.workdir / "peer" / "samples"
    samples.mkdir(parents=True)
    port = free_port()
    plan = {
        "port": port,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "live_grants": ctx.plan.live_grants,
        "revoked_grants": ctx.plan.revoked_grants,
        "max_seconds": int(max(60.0, time_left)),
        "samples": [
            {"name": s.name, "start": s.start, "stop": s.stop, "path": str(s.file(samples))}
            for s in ctx.plan.samples
        ],
    }
    plan_path = ctx.workdir / "peer" / "plan.json"
    plan_path.write_bytes(orjson.dumps(plan))
    log(
        f"peer: oidc-provider {provider_version} on node {version}, seeding "
        f"{ctx.plan.live_tokens:,} live + {ctx.plan.revoked_tokens:,} revoked tokens"
    )
    # A heap large enough for the population; NODE_ENV=production as a deployment would.
    env = child_env({"NODE_ENV": "production"})
    argv = ["node", "--max-old-space-size=16384", str(home / "server.mjs"), str(plan_path)]
    child = ctx.supervisor.start(
        "peer", argv, env=env, cwd=home, cpus=ctx.server_cpus, stdin_pipe=True
    )
    base_url = f"http://{HOST}:{port}"
    try:
        ready = _wait_ready(child.log_path, child.alive, timeout=120 + ctx.plan.live_tokens / 5000)
        log(f"peer: seeded {ready['tokens']:,} tokens in {ready['seconds']:.1f}s")
        wait_http(child, f"{base_url}/.well-known/openid-configuration", timeout=30)
        target = Target("peer", base_url, ENDPOINTS, CLIENT_ID, CLIENT_SECRET, samples, child)
        preflight(target)
        results, checks = measure(ctx, target)
        rss, peak = rss_mb(child.pid)
        if not child.alive():
            raise BenchError(f"the peer died during the run:\n{child.log_tail()}")
    finally:
        ctx.supervisor.stop(child)
    return {
        "software": f"oidc-provider {provider_version}",
        "node": version,
        "store": "oidc-provider MemoryAdapter over its LRU with maxSize 2^53-1 (never evicts)",
        "seed": {**ctx.plan.to_json(), "seconds": ready["seconds"]},
        "workloads": {k: v.to_json() for k, v in results.items()},
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "checks": checks,
        "log": str(child.log_path),
    }
