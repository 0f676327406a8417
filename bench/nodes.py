"""`python -m bench.nodes`: two tokenrevoke nodes sharing one PostgreSQL, loaded together.

Where one machine is not enough, nodes share a PostgreSQL database (docs/deployment.md).
This run seeds one scratch database (`bench/pgseed.py`, as `python -m bench` does), starts
two `tokenrevoke serve` processes on it with one master key, and runs each workload of
`python -m bench` (issuance, introspection, revocation) against both nodes at once: one
wrk per node, each with half of `--connections`. It reports each node's req/s and p99,
the aggregate req/s, and the server CPU per request over both nodes.

No answer may be stale across nodes, load or not, so the run also checks: a token revoked
on node A before the loads is inactive on node B; after the revocation load, the first
tokens each node revoked introspect inactive on the other node. (tests/scaleout/
test_nodes_under_load.py runs the scale-out interleavings while such a load runs.)

    python -m bench.nodes                       # 1M tokens, 64 connections, 15 s per load
    python -m bench.nodes --quick               # 10,000 tokens, 16 connections, 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shlex
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.cli import DEFAULT_POSTGRES
from bench.common import Profile, RunContext, Target, log, preflight
from bench.ours import (
    ADMIN_ID,
    ADMIN_SECRET,
    ENDPOINTS,
    LOAD_ID,
    LOAD_SECRET,
    postgres_unreachable,
    postgres_unsupported,
    scratch_database,
    seed_population,
)
from bench.population import first_lines, make_plan, write_introspection_mix
from bench.procs import HOST, BenchError, Child, Supervisor, TimeBudget, free_port, wait_http
from bench.report import machine, machine_line
from bench.wrk import Load, LoadResult, ensure_wrk, wrk_version
from tokenrevoke.crypto import SecretBox

RESULTS = Path(__file__).resolve().parent / "results"
FULL = {"tokens": 1_000_000, "duration": 15.0, "connections": 64}
QUICK = {"tokens": 10_000, "duration": 3.0, "connections": 16}
NODES = ("a", "b")
_CHECKED = 20  # tokens per node whose revocation the other node must see


@dataclass(slots=True)
class Node:
    name: str
    target: Target

    @property
    def child(self) -> Child:
        return self.target.child


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nodes",
        description="Two tokenrevoke nodes on one PostgreSQL: aggregate throughput, "
        "and no stale answer across them.",
    )
    parser.add_argument("--tokens", type=int, help="live tokens to seed (default 1,000,000)")
    parser.add_argument("--duration", type=float, help="seconds per workload (default 15)")
    parser.add_argument(
        "--connections", type=int, help="wrk connections in all, half per node (default 64)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny and short (a smoke run)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TOKENREVOKE_BENCH_POSTGRES_URL")
        or os.environ.get("TOKENREVOKE_TEST_POSTGRES")
        or DEFAULT_POSTGRES,
        help=f"a PostgreSQL server where the run creates and drops a scratch database "
        f"(default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/results/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument("--time-limit", type=int, help="stop the run after this many seconds")
    return parser.parse_args(argv)


def _profile(args: argparse.Namespace) -> Profile:
    base = QUICK if args.quick else FULL
    connections = int(args.connections or base["connections"])
    duration = float(args.duration or base["duration"])
    if connections < 2 or duration < 1:
        raise BenchError("need --connections >= 2 and --duration >= 1")
    # Per node: half the connections, one wrk thread (two wrk processes in all, as the
    # single-node run's two threads).
    return Profile(
        tokens=int(args.tokens or base["tokens"]), revoke_all_tokens=10, duration=duration,
        connections=connections // 2, threads=1, revoke_all_window=duration, quick=args.quick,
    )  # fmt: skip


def _start_nodes(ctx: RunContext, url: str, key: str, samples: Path) -> list[Node]:
    nodes = []
    for name in NODES:
        data_dir = ctx.workdir / f"node-{name}"
        data_dir.mkdir()
        key_path = data_dir / "master.key"  # one key: both read the clients' secrets
        key_path.write_text(key)
        key_path.chmod(0o600)
        port = free_port()
        argv = [
            sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--host", HOST,
            "--port", str(port), "--data-dir", str(data_dir), "--admin-client-id", ADMIN_ID,
            "--admin-client-secret", ADMIN_SECRET, "--log-level", "warning", "--workers", "1",
            "--database-url", url,
        ]  # fmt: skip
        child = ctx.supervisor.start(f"node-{name}", argv)
        base_url = f"http://{HOST}:{port}"
        target = Target(f"node {name}", base_url, ENDPOINTS, LOAD_ID, LOAD_SECRET, samples, child)
        nodes.append(Node(name, target))
    for node in nodes:
        wait_http(node.child, f"{node.target.base_url}/health/live", timeout=60)
    return nodes


def _split(path: Path, parts: int) -> list[Path]:
    """Line i of `path` into part i mod `parts`: each node revokes tokens of its own."""
    lines = [line for line in path.read_text().splitlines() if line]
    out = []
    for part in range(parts):
        piece = path.with_name(f"{path.stem}-{part}{path.suffix}")
        piece.write_text("\n".join(lines[part::parts]) + "\n")
        out.append(piece)
    return out


def _together(ctx: RunContext, runs: list[tuple[Node, Load]]) -> list[LoadResult]:
    """One wrk per node, all at once; each result with its node's CPU per request."""
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = [pool.submit(ctx.run, n.target.base_url, load, None, n.child) for n, load in runs]
        return [f.result() for f in futures]


def _stale(checker: Node, tokens: list[str]) -> list[str]:
    with checker.target.http() as http:
        return [t for t in tokens if checker.target.introspect(http, t)]


def aggregate(results: list[LoadResult]) -> dict[str, Any]:
    requests = sum(r.requests for r in results)
    cpu = [r.server_cpu_us or 0.0 for r in results]
    known = all(r.server_cpu_us is not None for r in results)
    return {
        "rps": round(sum(r.rps for r in results), 1),
        "requests": requests,
        "p99_ms": max(r.p99_ms for r in results),
        "errors": sum(r.errors for r in results),
        # Both servers' CPU over both nodes' requests.
        "server_cpu_us": (
            round(sum(c * r.requests for c, r in zip(cpu, results, strict=True)) / requests, 1)
            if requests and known
            else None
        ),
        "machine_busy_pct": max((r.machine_busy_pct or 0.0) for r in results),
    }


def measure_nodes(ctx: RunContext, nodes: list[Node], samples: Path) -> dict[str, Any]:
    """Each workload on every node at once; the cross-node checks around them."""
    first, second = nodes
    # Revoked on A before any load: B must say inactive (preflight also revokes on A).
    preflight(first.target)
    check = first_lines(samples / "check.txt", 1)
    if _stale(second, check):
        raise BenchError("a token revoked on node a still introspects active on node b")
    mix = write_introspection_mix(samples)
    revocations = _split(samples / "revocation.txt", len(nodes))
    auth = first.target.authorization
    loads = {
        "issuance": [Load("issue", ENDPOINTS.token, authorization=auth)] * len(nodes),
        "introspection": [Load("token", ENDPOINTS.introspect, mix, authorization=auth)]
        * len(nodes),
        "revocation": [
            Load("token", ENDPOINTS.revoke, part, authorization=auth) for part in revocations
        ],
    }
    out: dict[str, Any] = {}
    for workload, per_node in loads.items():
        log(f"{workload} on {len(nodes)} nodes at once")
        results = _together(ctx, list(zip(nodes, per_node, strict=True)))
        out[workload] = {
            "nodes": {n.name: r.to_json() for n, r in zip(nodes, results, strict=True)},
            "aggregate": aggregate(results),
        }
        a = out[workload]["aggregate"]
        log(f"{workload}: {a['rps']:,.0f} req/s in all ("
            + ", ".join(f"node {n.name} {r.rps:,.0f}" for n, r in zip(nodes, results, strict=True))
            + f"), p99 {a['p99_ms']:.1f} ms, errors {a['errors']}, "
            f"server CPU {a['server_cpu_us']} us per request")  # fmt: skip
    # What each node revoked under load, the other node must see revoked.
    stale = 0
    for index, revoked in enumerate(revocations):
        other = nodes[(index + 1) % len(nodes)]
        stale += len(_stale(other, first_lines(revoked, _CHECKED)))
    if stale:
        raise BenchError(f"{stale} tokens revoked on one node still introspect active on the other")
    out["cross_node_checks"] = {"revoked_then_checked": _CHECKED * len(nodes) + 1, "stale": 0}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [
        "| workload | node a req/s | node b req/s | aggregate req/s | p99 ms (worst node) "
        "| server CPU per request (us) | errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for workload in ("issuance", "introspection", "revocation"):
        w = result["workloads"][workload]
        a, nodes = w["aggregate"], w["nodes"]
        rows.append(
            f"| {workload} | {nodes['a']['rps']:,.0f} | {nodes['b']['rps']:,.0f} "
            f"| {a['rps']:,.0f} | {a['p99_ms']:.1f} | {a['server_cpu_us']} | {a['errors']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        profile = _profile(args)
        plan = make_plan(profile.tokens)
    except (BenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "bench.nodes", *(sys.argv[1:] if argv is None else argv)])
    limit = args.time_limit or int(240 + 3 * (profile.duration + 10) + profile.tokens / 5_000)
    workdir = Path(tempfile.mkdtemp(prefix="tokenrevoke-nodes-"))
    result: dict[str, Any] = {
        "schema": 1,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),  # with the load average at the start
        "connections_per_node": profile.connections,
        "population": plan.to_json(),
    }
    try:
        reason = postgres_unsupported() or postgres_unreachable(args.postgres_url)
        if reason:
            raise BenchError(f"PostgreSQL: {reason}")
        with TimeBudget(limit).armed(), Supervisor(workdir) as supervisor:
            wrk = ensure_wrk()
            result["wrk_version"] = wrk_version(wrk)
            ctx = RunContext(wrk, profile, plan, workdir, supervisor, None, None)
            samples = workdir / "samples"
            samples.mkdir()
            master = secrets.token_bytes(32)
            with scratch_database(args.postgres_url) as url:
                log(f"seeding {plan.live_tokens:,} live + {plan.revoked_tokens:,} revoked tokens")
                box = SecretBox(master)
                seed = asyncio.run(
                    seed_population(url, box, plan, profile.revoke_all_tokens, samples)
                )
                log(f"seeded in {seed.seconds:.1f}s")
                nodes = _start_nodes(ctx, url, base64.urlsafe_b64encode(master).decode(), samples)
                result["workloads"] = measure_nodes(ctx, nodes, samples)
                for node in nodes:
                    if not node.child.alive():
                        raise BenchError(f"node {node.name} died:\n{node.child.log_tail()}")
                    supervisor.stop(node.child)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"(logs in {workdir})", file=sys.stderr)
        return 1
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = args.out or RESULTS / ("nodes-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"\ntwo nodes on one PostgreSQL, {plan.live_tokens:,} live tokens; {command}")
    print(f"machine: {machine_line(result['machine'])}\n")
    print(table(result))
    print(f"\nJSON: {out}")
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
