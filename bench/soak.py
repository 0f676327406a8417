"""`python -m bench.soak`: a bounded mixed load for minutes, to show memory stays flat and
nothing fails.

One tokenrevoke process (SQLite by default) serves a steady mix from a pool of async workers:
client_credentials issuance, refresh-token rotation, revocation, introspection of live and of
revoked tokens, and config-API reads and revocations. Every answer is checked, not only its
status: a live token must introspect active, a revoked one inactive, a rotated refresh token
must be refused. Access tokens live a short time and the purge runs often, so the database
reaches a steady state instead of growing for ever, as a long-running server's does.

The server's RSS is sampled throughout; "flat" means the second half of the run adds less
than `--max-growth-mb` over the RSS at half time (the first half warms the caches).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import secrets
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from argon2 import PasswordHasher

from bench.common import log
from bench.ours import (
    ADMIN_ID,
    ADMIN_SECRET,
    ENDPOINTS,
    admin_token_of,
    admin_token_request,
)
from bench.procs import (
    HOST,
    BenchError,
    Child,
    Supervisor,
    TimeBudget,
    free_port,
    rss_mb,
    wait_http,
)
from bench.report import machine, machine_line, replace_section
from tokenrevoke.apiclient import SCOPE, ConfigApiClient
from tokenrevoke.configapi.clients import create_client, ensure_admin_client
from tokenrevoke.crypto import SecretBox, new_id, sha256_hex
from tokenrevoke.model import AuthMethod, Client, User
from tokenrevoke.paths import CONFIG_API_V1
from tokenrevoke.store import open_store
from tokenrevoke.store.factory import sqlite_url

RESULTS = Path(__file__).resolve().parent / "results"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:soak:begin (python -m bench.soak --update-docs rewrites this section) -->"
END = "<!-- bench:soak:end -->"
CLIENTS = 4
USERNAME, PASSWORD = "soak-user", "soak-password-0123456789"
# A short access-token life and a frequent purge: the store reaches a steady size.
PROPERTIES = {"accessTokenLifetime": 60, "cleanServiceInterval": 5}
# Operation weights of the mix (out of 100).
MIX = {
    "issue": 34,
    "introspect_live": 24,
    "revoke": 14,
    "introspect_revoked": 10,
    "refresh": 8,
    "config_get": 5,
    "config_revoke": 3,
    "config_search": 2,
}
_POOL = 4_000  # live access tokens kept for introspection and revocation
_MARGIN = 10  # seconds before expiry after which a live token is no longer expected active


@dataclass(slots=True)
class Live:
    token: str
    client: int
    expires: float


@dataclass(slots=True)
class Tally:
    """What the load saw. Latencies per sampling window, for the p99 over time."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    window: list[float] = field(default_factory=list)

    def error(self, op: str, detail: str) -> None:
        self.errors[op] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{op}: {detail[:300]}")


class Mix:
    """The workers' shared state: pools of live, revoked and refresh tokens."""

    def __init__(self, http: httpx.AsyncClient, secrets_: list[str]) -> None:
        self.http = http
        self.basic = [
            "Basic " + base64.b64encode(f"soak-{i}:{s}".encode()).decode()
            for i, s in enumerate(secrets_)
        ]
        self.bearer: str | None = None
        self.live: deque[Live] = deque(maxlen=_POOL)
        self.revoked: deque[str] = deque(maxlen=_POOL)
        self.refresh_tokens: list[str | None] = [None] * CLIENTS
        # One refresh at a time per client: two concurrent refreshes of one token are a
        # race the server must refuse (one wins), not an error of the server.
        self.refresh_locks = [asyncio.Lock() for _ in range(CLIENTS)]
        self.tally = Tally()
        self.rng = random.Random(7)  # noqa: S311 (choosing operations, not secrets)

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A config-API call; the short-lived bearer is fetched again when it has expired."""
        for _ in range(2):
            if self.bearer is None:
                self.bearer = await _admin_bearer(self.http)
            headers = {"Authorization": f"Bearer {self.bearer}"}
            r = await self.http.request(method, CONFIG_API_V1 + path, headers=headers, **kwargs)
            if r.status_code != 401:
                break
            self.bearer = None
        return r

    async def post(self, path: str, client: int, data: dict[str, str]) -> httpx.Response:
        headers = {"Authorization": self.basic[client]}
        return await self.http.post(path, data=data, headers=headers)

    # -- operations: each returns None when fine, or what went wrong ----------------------
    async def issue(self) -> str | None:
        client = self.rng.randrange(CLIENTS)
        r = await self.post(ENDPOINTS.token, client, {"grant_type": "client_credentials"})
        if r.status_code != 200:
            return f"{r.status_code} {r.text}"
        body = r.json()
        self.live.append(Live(body["access_token"], client, time.time() + body["expires_in"]))
        return None

    async def introspect_live(self) -> str | None:
        if not self.live:
            return await self.issue()
        item = self.live[self.rng.randrange(len(self.live))]
        r = await self.post(ENDPOINTS.introspect, item.client, {"token": item.token})
        if r.status_code != 200:
            return f"{r.status_code} {r.text}"
        fresh = time.time() < item.expires - _MARGIN
        # It may have been revoked meanwhile by a config-API revocation of its grant: those
        # remove it from the pool first, so a live pool entry must be active while fresh.
        if fresh and item in self.live and r.json().get("active") is not True:
            return f"a live token introspected {r.text}"
        return None

    async def revoke(self) -> str | None:
        if not self.live:
            return await self.issue()
        item = self.live.popleft()
        r = await self.post(ENDPOINTS.revoke, item.client, {"token": item.token})
        if r.status_code != 200:
            return f"{r.status_code} {r.text}"
        self.revoked.append(item.token)
        return None

    async def introspect_revoked(self) -> str | None:
        if not self.revoked:
            return await self.revoke()
        token = self.revoked[self.rng.randrange(len(self.revoked))]
        r = await self.post(ENDPOINTS.introspect, 0, {"token": token})
        if r.status_code != 200 or r.json().get("active") is not False:
            return f"a revoked token introspected {r.status_code} {r.text}"
        return None

    async def refresh(self) -> str | None:
        client = self.rng.randrange(CLIENTS)
        if self.refresh_locks[client].locked():
            return await self.issue()
        async with self.refresh_locks[client]:
            return await self._refresh(client)

    async def _refresh(self, client: int) -> str | None:
        current = self.refresh_tokens[client]
        if current is None:
            form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
        else:
            form = {"grant_type": "refresh_token", "refresh_token": current}
        r = await self.post(ENDPOINTS.token, client, form)
        if r.status_code != 200:
            return f"{form['grant_type']}: {r.status_code} {r.text}"
        self.refresh_tokens[client] = r.json()["refresh_token"]
        if current is not None:
            # The token just rotated away must be refused from now on.
            again = await self.post(
                ENDPOINTS.introspect, client, {"token": current, "token_type_hint": "refresh_token"}
            )
            if again.status_code != 200 or again.json().get("active") is not False:
                return f"a rotated refresh token introspected {again.status_code} {again.text}"
        return None

    async def config_get(self) -> str | None:
        if not self.live:
            return await self.issue()
        item = self.live[-1]
        r = await self.admin("GET", f"/token/tknCde/{sha256_hex(item.token)}")
        if r.status_code != 200 or r.json().get("tokenCode") != sha256_hex(item.token):
            return f"{r.status_code} {r.text}"
        return None

    async def config_revoke(self) -> str | None:
        if not self.live:
            return await self.issue()
        item = self.live.pop()
        r = await self.admin("DELETE", f"/token/revoke/{sha256_hex(item.token)}")
        if r.status_code != 204:
            return f"{r.status_code} {r.text}"
        self.revoked.append(item.token)
        return None

    async def config_search(self) -> str | None:
        client = self.rng.randrange(CLIENTS)
        r = await self.admin(
            "GET", "/token/search", params={"fieldValuePair": f"clnId=soak-{client}", "limit": "10"}
        )
        if r.status_code != 200 or "totalEntriesCount" not in r.json():
            return f"{r.status_code} {r.text}"
        return None


async def _worker(mix: Mix, ops: list[str], weights: list[int], stop_at: float) -> None:
    while time.monotonic() < stop_at:
        op = mix.rng.choices(ops, weights)[0]
        started = time.perf_counter()
        try:
            problem = await getattr(mix, op)()
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        mix.tally.window.append(time.perf_counter() - started)
        mix.tally.requests[op] += 1
        if problem is not None:
            mix.tally.error(op, problem)


def _p99_ms(latencies: list[float]) -> float:
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)


async def _sampler(
    mix: Mix, child: Child, every: float, stop_at: float, samples: list[dict[str, Any]]
) -> None:
    started = time.monotonic()
    done = 0
    while True:
        now = time.monotonic()
        window, mix.tally.window = mix.tally.window, []
        total = sum(mix.tally.requests.values())
        rss, _ = rss_mb(child.pid)
        samples.append({
            "t_s": round(now - started, 1), "rss_mb": rss, "requests": total,
            "rps": round((total - done) / every, 1) if samples else 0.0,
            "p99_ms": _p99_ms(window), "errors": sum(mix.tally.errors.values()),
        })  # fmt: skip
        done = total
        log(
            f"soak: {samples[-1]['t_s']:>6.0f}s  rss {rss:7.1f} MiB  "
            f"{samples[-1]['rps']:7.1f} req/s  p99 {samples[-1]['p99_ms']:7.2f} ms  "
            f"errors {samples[-1]['errors']}"
        )
        if now >= stop_at or not child.alive():
            return
        await asyncio.sleep(min(every, max(0.0, stop_at - now)))


async def _load(
    base_url: str, child: Child, args: argparse.Namespace, secrets_: list[str]
) -> dict[str, Any]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as http:
        with ConfigApiClient(base_url, ADMIN_ID, ADMIN_SECRET) as admin:
            for name, value in PROPERTIES.items():
                admin.set_property(name, value)
        mix = Mix(http, secrets_)
        ops, weights = list(MIX), list(MIX.values())
        stop_at = time.monotonic() + args.minutes * 60
        samples: list[dict[str, Any]] = []
        workers = [_worker(mix, ops, weights, stop_at) for _ in range(args.concurrency)]
        await asyncio.gather(_sampler(mix, child, args.sample_every, stop_at, samples), *workers)
    return {"samples": samples, "tally": mix.tally}


async def _admin_bearer(http: httpx.AsyncClient) -> str:
    """One bearer token with both token scopes the mix uses (an operation takes any of its
    scopes). It lives `accessTokenLifetime` (60 s): refetched when the config API says 401."""
    scope = f"{SCOPE['token.read']} {SCOPE['token.delete']}"
    return admin_token_of(await http.post(ENDPOINTS.token, **admin_token_request(scope)))


async def _seed(url: str, box: SecretBox) -> list[str]:
    store = await open_store(url)
    try:
        await ensure_admin_client(store, box, ADMIN_ID, ADMIN_SECRET)
        secrets_ = []
        for i in range(CLIENTS):
            secret = secrets.token_urlsafe(32)
            client = Client(
                client_id=f"soak-{i}",
                client_name=f"soak-{i}",
                grant_types=["client_credentials", "password", "refresh_token"],
                scopes=["openid", "profile"],
                auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            )
            await create_client(store, box, client, secret)
            secrets_.append(secret)
        user = User(inum=new_id(), uid=USERNAME, password_hash=PasswordHasher().hash(PASSWORD))
        await store.save_user(user)
        return secrets_
    finally:
        await store.close()


def verdict(samples: list[dict[str, Any]], errors: int, max_growth_mb: float) -> dict[str, Any]:
    """Flat memory: the second half adds less than `max_growth_mb` to the RSS at half time."""
    half = samples[len(samples) // 2]["rss_mb"]
    late_peak = max(s["rss_mb"] for s in samples[len(samples) // 2 :])
    growth = round(late_peak - half, 1)
    return {
        "rss_at_half_mb": half,
        "rss_peak_second_half_mb": late_peak,
        "rss_growth_second_half_mb": growth,
        "memory_flat": growth < max_growth_mb,
        "zero_errors": errors == 0,
    }


def _markdown(result: dict[str, Any]) -> str:
    v, t = result["verdict"], result["totals"]
    p99 = [s["p99_ms"] for s in result["samples"][1:]] or [0.0]
    rows = "\n".join(f"| {op} | {t['requests'][op]:,} | {t['errors'].get(op, 0)} |" for op in MIX)
    series = ", ".join(
        f"{s['rss_mb']:.0f}" for s in result["samples"][:: max(1, len(result["samples"]) // 12)]
    )
    return (
        f"Run on {result['started'][:10]} ({result['minutes']:g} minutes, {result['concurrency']} "
        f"concurrent workers, SQLite).\n\n"
        f"- machine: {machine_line(result['machine'])}\n"
        f"- command: `{result['command']}`\n"
        f"- requests: {t['total']:,} in all ({t['rps']:,.0f} req/s on average, each answer "
        "checked), "
        f"**errors: {t['errors_total']}**\n"
        f"- server RSS: {result['samples'][0]['rss_mb']:.0f} MiB at the start, "
        f"{v['rss_at_half_mb']:.0f} MiB at half time, peak {v['rss_peak_second_half_mb']:.0f} MiB "
        f"in the second half (growth {v['rss_growth_second_half_mb']:+.1f} MiB): "
        f"**{'flat' if v['memory_flat'] else 'NOT flat'}**\n"
        f"- RSS over time (MiB): {series}\n"
        f"- p99 per {result['sample_every']:g} s window: {min(p99):.1f} to {max(p99):.1f} ms\n\n"
        "| operation | requests | errors |\n|---|--:|--:|\n" + rows + "\n"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="async workers (default 16)")
    parser.add_argument(
        "--sample-every", type=float, default=10.0, help="seconds between RSS samples"
    )
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=20.0,
        help="RSS growth over the second half still called flat (default 20)",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON result (default bench/results/soak-<time>.json)"
    )
    parser.add_argument(
        "--update-docs", action="store_true", help="rewrite the soak section of docs/benchmarks.md"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.concurrency < 1 or args.sample_every <= 0:
        parser.error("--minutes, --concurrency and --sample-every must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    workdir = Path(tempfile.mkdtemp(prefix="tokenrevoke-soak-"))
    master = secrets.token_bytes(32)
    (workdir / "master.key").write_text(base64.urlsafe_b64encode(master).decode())
    (workdir / "master.key").chmod(0o600)
    budget = TimeBudget(int(args.minutes * 60) + 300)
    try:
        with budget.armed(), Supervisor(workdir) as supervisor:
            secrets_ = asyncio.run(_seed(sqlite_url(workdir), SecretBox(master)))
            port = free_port()
            child = supervisor.start("tokenrevoke", [
                sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--host", HOST,
                "--port", str(port), "--data-dir", str(workdir), "--admin-client-id", ADMIN_ID,
                "--admin-client-secret", ADMIN_SECRET, "--log-level", "warning", "--workers", "1",
            ])  # fmt: skip
            base_url = f"http://{HOST}:{port}"
            wait_http(child, f"{base_url}/health/live", timeout=60)
            log(f"soak: {args.minutes:g} minutes, {args.concurrency} workers against {base_url}")
            run = asyncio.run(_load(base_url, child, args, secrets_))
            if not child.alive():
                raise BenchError(f"the server died during the soak:\n{child.log_tail()}")
    except BenchError as exc:
        print(f"soak failed: {exc}", file=sys.stderr)
        return 2
    tally: Tally = run["tally"]
    samples: list[dict[str, Any]] = run["samples"]
    total = sum(tally.requests.values())
    errors = sum(tally.errors.values())
    command = "python -m bench.soak " + " ".join(sys.argv[1:] if argv is None else argv)
    result = {
        "started": started, "minutes": args.minutes, "concurrency": args.concurrency,
        "sample_every": args.sample_every, "command": command.strip(), "machine": machine(),
        "totals": {"total": total, "rps": round(total / (args.minutes * 60), 1),
                   "requests": dict(tally.requests), "errors": dict(tally.errors),
                   "errors_total": errors, "error_examples": tally.examples},
        "samples": samples, "verdict": verdict(samples, errors, args.max_growth_mb),
        "workdir": str(workdir) if args.keep else None,
    }  # fmt: skip
    out = args.out or RESULTS / f"soak-{started.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(_markdown(result))
    print(f"JSON: {out}")
    for example in tally.examples:
        print(f"error: {example}", file=sys.stderr)
    if args.update_docs:
        section = f"{BEGIN}\n\n{_markdown(result)}\n{END}"
        replace_section(DOCS, BEGIN, END, section, heading="Soak results")
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    ok = result["verdict"]["memory_flat"] and result["verdict"]["zero_errors"]
    return 0 if ok else 1


__all__ = ["main", "verdict"]


if __name__ == "__main__":
    sys.exit(main())
