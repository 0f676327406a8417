"""`python -m bench`: tokenrevoke, the peer and the ceiling, measured in one run."""

from __future__ import annotations

import argparse
import base64
import os
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.ceiling import run_ceiling
from bench.common import Profile, RunContext, log
from bench.ours import (
    LOAD_ID,
    LOAD_SECRET,
    postgres_unreachable,
    postgres_unsupported,
    run_tokenrevoke,
    scratch_database,
)
from bench.peer import run_peer
from bench.population import make_plan
from bench.procs import BenchError, Supervisor, TimeBudget
from bench.report import caveats, machine, ratios, table, targets, update_docs
from bench.wrk import ensure_wrk, wrk_version

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
QUICK = {"tokens": 10_000, "revoke_all_tokens": 2_000, "duration": 2.0, "connections": 16}
STORES = ("sqlite", "postgresql")
FULL = {"tokens": 1_000_000, "revoke_all_tokens": 100_000, "duration": 15.0, "connections": 64}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark tokenrevoke against oidc-provider and a raw ASGI ceiling.",
    )
    parser.add_argument("--tokens", type=int, help="live tokens to seed (default 1,000,000)")
    parser.add_argument(
        "--revoke-all-tokens", type=int, help="tokens of the revoke-all client (default 100,000)"
    )
    parser.add_argument("--duration", type=float, help="seconds per workload (default 15)")
    parser.add_argument("--connections", type=int, help="wrk connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--revoke-all-window",
        type=float,
        help="seconds of concurrent load around the revoke-all (default: duration, 3 to 10)",
    )
    parser.add_argument("--quick", action="store_true", help="the smoke profile: tiny and short")
    parser.add_argument(
        "--pin", action="store_true", help="pin the server to CPU 0 and wrk to the other CPUs"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TOKENREVOKE_BENCH_POSTGRES_URL")
        or os.environ.get("TOKENREVOKE_TEST_POSTGRES")
        or DEFAULT_POSTGRES,
        help="a PostgreSQL server (any database on it) where the run creates and drops a "
        f"scratch database (default {DEFAULT_POSTGRES}); skipped if unreachable",
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="do not run tokenrevoke on PostgreSQL"
    )
    parser.add_argument(
        "--stores",
        type=_stores,
        default=STORES,
        help="tokenrevoke stores to run, comma-separated: sqlite, postgresql (default both); "
        "with --skip-peer --skip-ceiling, --stores postgresql measures only PostgreSQL",
    )
    parser.add_argument(
        "--wait-load",
        type=float,
        metavar="L",
        help="after seeding, before each store's loads, wait until the 1-minute load "
        "average is below L (polled every 10 s; see --wait-load-max); recorded in the JSON",
    )
    parser.add_argument(
        "--wait-load-max",
        type=float,
        default=900.0,
        metavar="S",
        help="give up waiting for --wait-load after S seconds and run anyway (default 900)",
    )
    parser.add_argument("--skip-peer", action="store_true", help="do not run oidc-provider")
    parser.add_argument("--skip-ceiling", action="store_true", help="do not run the ceiling")
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/results/)")
    parser.add_argument(
        "--update-docs", action="store_true", help="rewrite the results in docs/benchmarks.md"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument("--time-limit", type=int, help="stop the run after this many seconds")
    return parser.parse_args(argv)


def _stores(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in STORES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown store(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(STORES)}"
        )
    return names


def resolve_profile(args: argparse.Namespace) -> Profile:
    base = QUICK if args.quick else FULL

    def pick(name: str) -> Any:
        value = getattr(args, name)
        return base[name] if value is None else value

    duration = float(pick("duration"))
    window = args.revoke_all_window or min(10.0, max(3.0, duration))
    profile = Profile(
        tokens=int(pick("tokens")),
        revoke_all_tokens=int(pick("revoke_all_tokens")),
        duration=duration,
        connections=int(pick("connections")),
        threads=int(args.threads),
        revoke_all_window=float(window),
        quick=bool(args.quick),
    )
    if profile.duration < 1 or profile.connections < profile.threads or profile.threads < 1:
        raise BenchError("need --duration >= 1 and --connections >= --threads >= 1")
    if profile.revoke_all_tokens < 10:
        raise BenchError("--revoke-all-tokens must be at least 10")
    return profile


def default_time_limit(profile: Profile) -> int:
    """A guard against a hang, not a target: generous for a slow, busy machine."""
    runs = 12  # 3 loads + revoke-all on SQLite and on PostgreSQL, 3 on the peer, the ceiling
    loads = runs * (profile.duration + 6) + 2 * profile.revoke_all_window
    seeding = 3 * (profile.tokens * 1.2 + profile.revoke_all_tokens) / 5_000
    return int(180 + loads + seeding)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        profile = resolve_profile(args)
        plan = make_plan(profile.tokens)
    except (BenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    limit = args.time_limit or default_time_limit(profile)
    workdir = Path(tempfile.mkdtemp(prefix="tokenrevoke-bench-"))
    started = time.monotonic()
    result: dict[str, Any] = {
        "schema": 1,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "profile": {
            **{k: getattr(profile, k) for k in Profile.__dataclass_fields__},
            "pin": args.pin,
        },
        "population": plan.to_json(),
    }
    try:
        with TimeBudget(limit).armed(), Supervisor(workdir) as supervisor:
            wrk = ensure_wrk()
            result["wrk_version"] = wrk_version(wrk)
            cpus = sorted(os.sched_getaffinity(0))
            pinned = args.pin and len(cpus) > 1
            ctx = RunContext(
                wrk=wrk,
                profile=profile,
                plan=plan,
                workdir=workdir,
                supervisor=supervisor,
                server_cpus=frozenset(cpus[:1]) if pinned else None,
                load_cpus=frozenset(cpus[1:]) if pinned else None,
                quiet_load=args.wait_load,
                quiet_max_s=args.wait_load_max,
            )
            log(f"work directory {workdir}; time limit {limit}s")
            # --wait-load waits before each store's loads (after its seeding), not here.
            result["before_seeding"] = {"load_average": round(os.getloadavg()[0], 2)}
            if "sqlite" in args.stores:
                result["tokenrevoke"] = run_tokenrevoke(ctx, "sqlite", None)
            else:
                result["tokenrevoke"] = {"skipped": "--stores without sqlite"}
            if "postgresql" not in args.stores:
                result["tokenrevoke_postgresql"] = {"skipped": "--stores without postgresql"}
            else:
                result["tokenrevoke_postgresql"] = run_postgres(
                    ctx, None if args.no_postgres else args.postgres_url
                )
            if args.skip_peer:
                result["peer"] = {"skipped": "--skip-peer"}
            else:
                result["peer"] = run_peer(ctx, limit - (time.monotonic() - started))
            if args.skip_ceiling:
                result["ceiling"] = {"skipped": "--skip-ceiling"}
            else:
                samples = workdir / "tokenrevoke-sqlite" / "samples"
                if not samples.exists():
                    samples = workdir / "tokenrevoke-postgresql" / "samples"
                # The same Authorization header as tokenrevoke's loads (only its size matters).
                pair = f"{LOAD_ID}:{LOAD_SECRET}".encode()
                authorization = "Basic " + base64.b64encode(pair).decode()
                result["ceiling"] = run_ceiling(ctx, authorization, samples)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"(logs in {workdir})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; every process the run started was stopped (logs in {workdir})",
              file=sys.stderr)  # fmt: skip
        return 130
    except SystemExit:
        print(f"stopped by a signal; every process the run started was stopped (logs in "
              f"{workdir})", file=sys.stderr)  # fmt: skip
        raise
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["seconds"] = round(time.monotonic() - started, 1)
    result["ratios"] = ratios(result)
    result["targets"] = targets(result)
    out = args.out or RESULTS / (datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print()
    print(f"tokenrevoke {plan.live_tokens:,} live tokens; {command}")
    print()
    print(table(result))
    for caveat in caveats(result):
        print(f"- caveat: {caveat}")
    print()
    print(f"JSON: {out}")
    if args.update_docs:
        update_docs(result)
        print("docs/benchmarks.md updated")
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_postgres(ctx: RunContext, admin_url: str | None) -> dict[str, Any]:
    """tokenrevoke again on PostgreSQL, in a scratch database created (and dropped) on the
    server that `admin_url` reaches, when the store supports PostgreSQL."""
    if admin_url is None:
        return {"skipped": "--no-postgres"}
    reason = postgres_unsupported()
    if reason is None:
        reason = postgres_unreachable(admin_url)
    if reason:
        log(f"PostgreSQL: skipped: {reason}")
        return {"skipped": reason}
    with scratch_database(admin_url) as url:
        return run_tokenrevoke(ctx, "postgresql", url)
