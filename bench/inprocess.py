"""`python -m bench.inprocess`: CPU time per request of the app itself, without sockets.

The wrk loads measure what a client sees, but on two shared CPUs their req/s move with
whatever else runs. This driver measures what moves much less, and what optimisation work
steers by: the server's CPU time per request. It opens the real ASGI app (its lifespan,
a fresh SQLite store in a temporary directory, or the empty PostgreSQL database
`--database-url` names), and drives one workload with
`--concurrency` requests in flight, each a real ASGI call with the headers and body wrk
sends, and every answer checked for a 200. No uvicorn, no httptools, no socket: those cost
the raw ASGI ceiling as much as us (about 20 to 30 us per request here).

Printed per round: process CPU per request (every thread), the event-loop thread's share
(the part under the GIL that caps one process), the wall time per request, and the
latency percentiles of the requests (what the writer's stalls do to writes). For where
the time goes, run it under a sampling profiler:

    py-spy record -r 1000 -f speedscope -o profile.json -- \\
        .venv/bin/python -m bench.inprocess introspection
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.ours import ADMIN_ID, ADMIN_SECRET
from tokenrevoke.configapi.clients import ensure_admin_client
from tokenrevoke.model import FeatureFlag
from tokenrevoke.paths import AUTH
from tokenrevoke.settings import Settings
from tokenrevoke.web.app import create_app, starlette_of

WORKLOADS = ("introspection", "issuance", "revocation")
_BASIC = b"Basic " + base64.b64encode(f"{ADMIN_ID}:{ADMIN_SECRET}".encode())
_ISSUE = b"grant_type=client_credentials"

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"authorization", _BASIC),
            (b"content-length", b"%d" % len(body)),
        ],
    }  # fmt: skip


async def call(app: App, path: str, body: bytes) -> tuple[int, bytes]:
    """One request through the ASGI app: its status and body."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path, body), receive, send)
    return int(sent[0]["status"]), bytes(sent[1].get("body", b""))


async def _issue(app: App, count: int) -> list[str]:
    tokens = []
    for _ in range(count):
        status, body = await call(app, f"{AUTH}/token", _ISSUE)
        if status != 200:
            raise SystemExit(f"issuing a token failed: {status} {body[:200]!r}")
        tokens.append(orjson.loads(body)["access_token"])
    return tokens


async def _drive(app: App, path: str, bodies: list[bytes], concurrency: int) -> list[float]:
    """Send every body once, `concurrency` in flight; the latency of each request."""
    share = len(bodies) // concurrency
    latencies: list[float] = []

    async def worker(index: int) -> None:
        for body in bodies[index * share : (index + 1) * share]:
            start = time.perf_counter()
            status, answer = await call(app, path, body)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise SystemExit(f"{path}: {status} {answer[:200]!r}")

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sorted(latencies)


async def _as_jwt(runtime: Any, status_list: bool) -> None:
    """The admin client issues JWT access tokens; with the STATUS_LIST flag or without."""
    client = await runtime.store.get_client(ADMIN_ID)
    await runtime.store.save_client(dataclasses.replace(client, access_token_as_jwt=True))
    if not status_list:
        flags = [f.value for f in FeatureFlag if f is not FeatureFlag.STATUS_LIST]
        await runtime.store.save_config({"featureFlags": flags}, None)


async def run(
    workload: str,
    requests: int,
    tokens: int,
    concurrency: int,
    rounds: int,
    jwt: str | None = None,
    database_url: str | None = None,
) -> None:
    with tempfile.TemporaryDirectory(prefix="tokenrevoke-inprocess-") as data:
        settings = Settings(data_dir=Path(data), log_level="warning", database_url=database_url)
        app = create_app(settings)
        starlette = starlette_of(app)
        async with starlette.router.lifespan_context(starlette):
            runtime = starlette.state.runtime
            await ensure_admin_client(runtime.store, runtime.box, ADMIN_ID, ADMIN_SECRET)
            if jwt is not None:
                await _as_jwt(runtime, jwt == "status-list")
            await runtime.refresh(force=True)
            live = await _issue(app, tokens)
            print(f"{workload}: {tokens:,} tokens issued; {requests:,} requests per round, "
                  f"{concurrency} in flight", flush=True)  # fmt: skip
            for _ in range(rounds):
                if workload == "introspection":
                    path = f"{AUTH}/introspection"
                    bodies = [b"token=" + live[i % len(live)].encode() for i in range(requests)]
                elif workload == "revocation":  # each request revokes a token of its own
                    path = f"{AUTH}/revoke"
                    bodies = [b"token=" + t.encode() for t in await _issue(app, requests)]
                else:
                    path, bodies = f"{AUTH}/token", [_ISSUE] * requests
                cpu, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
                latencies = await _drive(app, path, bodies, concurrency)
                cpu = time.process_time() - cpu
                main, wall = time.thread_time() - main, time.perf_counter() - wall
                done = len(latencies)
                p50, p99 = latencies[done // 2], latencies[done * 99 // 100]
                other = max(cpu - main, 0.0)
                print(f"  CPU per request {cpu / done * 1e6:6.1f} us (event-loop thread "
                      f"{main / done * 1e6:5.1f} us, other threads {other / done * 1e6:5.1f} us), "
                      f"wall {wall / done * 1e6:6.1f} us; latency p50 {p50 * 1e3:.2f} ms, "
                      f"p99 {p99 * 1e3:.2f} ms, max {latencies[-1] * 1e3:.1f} ms",
                      flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inprocess",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--requests", type=int, default=20_000, help="per round")
    parser.add_argument("--tokens", type=int, default=2_000, help="live tokens introspected")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--jwt", choices=("status-list", "no-status-list"),
        help="JWT access tokens, with a status-list index each (STATUS_LIST on) or not",
    )  # fmt: skip
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database to run on (empty; created beforehand) instead of SQLite",
    )
    args = parser.parse_args(argv)
    if args.requests < args.concurrency or args.tokens < 1 or args.rounds < 1:
        parser.error("need --requests >= --concurrency, --tokens >= 1 and --rounds >= 1")
    uvloop.install()
    asyncio.run(
        run(
            args.workload,
            args.requests,
            args.tokens,
            args.concurrency,
            args.rounds,
            args.jwt,
            args.database_url,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
