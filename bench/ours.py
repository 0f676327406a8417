"""tokenrevoke under load: seed through the store API, serve, measure, revoke-all."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from bench import pgseed
from bench.common import Endpoints, RunContext, Target, log, measure, preflight
from bench.population import Plan, access_tokens_of, sample_of, tokens_in_grants
from bench.procs import HOST, BenchError, free_port, rss_mb, wait_http
from bench.wrk import Load, LoadResult
from tokenrevoke.configapi.clients import create_client, ensure_admin_client
from tokenrevoke.crypto import SecretBox, sha256_hex
from tokenrevoke.model import AuthMethod, Client, TokenRecord, TokenType
from tokenrevoke.paths import AUTH, CONFIG_API_V1
from tokenrevoke.store import Store, open_store
from tokenrevoke.store.factory import sqlite_url

ADMIN_ID = "bench-admin"
ADMIN_SECRET = "bench-admin-secret-0123456789"
LOAD_ID = "bench-load"
LOAD_SECRET = "bench-load-secret-0123456789"
BULK_ID = "bench-bulk"
BULK_SECRET = "bench-bulk-secret-0123456789"
CONFIG = f"{CONFIG_API_V1}/jans-auth-server/config"
PROPERTIES_WRITE = "https://jans.io/oauth/jans-auth-server/config/properties.write"
ENDPOINTS = Endpoints(f"{AUTH}/token", f"{AUTH}/revoke", f"{AUTH}/introspection")
# Big batches: each transaction rewrites the B-tree pages it touches, and random keys touch
# most of them, so fewer, larger transactions seed much faster.
_BATCH = 100_000
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class SeedResult:
    live_tokens: int
    revoked_tokens: int
    bulk_tokens: int
    seconds: float
    tokens_per_second: float


def _raw_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def _grant_records(
    grant: int, client_id: str, now: int, revoked: bool
) -> tuple[list[TokenRecord], str]:
    """The tokens of one grant and its first access token, raw."""
    grant_id = secrets.token_hex(16)
    user = f"user-{grant % 10_000}"
    first = ""
    records: list[TokenRecord] = []
    kinds = [TokenType.ACCESS_TOKEN] * access_tokens_of(grant) + [TokenType.REFRESH_TOKEN]
    for kind in kinds:
        raw = _raw_token()
        if not first:
            first = raw
        lifetime = _DAY if kind is TokenType.ACCESS_TOKEN else 30 * _DAY
        records.append(
            TokenRecord(
                code=sha256_hex(raw),
                grant_id=grant_id,
                client_id=client_id,
                token_type=kind,
                grant_type="authorization_code",
                created_at=now,
                expires_at=now + lifetime,
                scope="openid profile",
                user_id=user,
                revoked_at=now - 60 if revoked else None,
                revoked_by=f"client:{client_id}" if revoked else None,
                revoke_reason="revoke_endpoint" if revoked else None,
            )
        )
    return records, first


class _Inserter:
    """Keeps the store's writer busy while the next batch is built (at most two in flight)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[asyncio.Task[None]] = []

    async def add(self, records: list[TokenRecord]) -> None:
        if len(self._pending) >= 2:
            await self._pending.pop(0)
        records.sort(key=lambda r: r.code)  # the primary key's order: fewer pages touched
        self._pending.append(asyncio.create_task(self._store.insert_tokens(records)))
        await asyncio.sleep(0)

    async def flush(self) -> None:
        for task in self._pending:
            await task
        self._pending.clear()


async def seed_population(
    url: str, box: SecretBox, plan: Plan, bulk: int, samples: Path
) -> SeedResult:
    """The clients and the plan's tokens in the store at `url`; the sampled raw tokens in
    `samples` (one file per sample)."""
    started = time.perf_counter()
    store = await open_store(url)
    try:
        await ensure_admin_client(store, box, ADMIN_ID, ADMIN_SECRET)
        for client_id, secret in ((LOAD_ID, LOAD_SECRET), (BULK_ID, BULK_SECRET)):
            client = Client(
                client_id=client_id,
                client_name=client_id,
                grant_types=["client_credentials", "authorization_code", "refresh_token"],
                scopes=["openid", "profile"],
                auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            )
            await create_client(store, box, client, secret)
        now = int(time.time())
        kept: dict[str, list[str]] = {s.name: [] for s in plan.samples}
        if url.startswith("postgresql"):
            # The schema and the clients are in; the tokens go in by COPY (bench/pgseed.py).
            pgseed.check_row_format()
            rows = pgseed.population_rows(plan, LOAD_ID, BULK_ID, bulk, now, kept)
            await pgseed.copy_tokens(url, rows)
            for name, tokens in kept.items():
                (samples / f"{name}.txt").write_text("\n".join(tokens) + "\n")
            return _seed_result(plan, pgseed.bulk_grants_for(bulk), started)
        owner = sample_of(plan)
        inserter = _Inserter(store)
        batch: list[TokenRecord] = []
        step = max(1, plan.total_grants // 5)
        for grant in range(plan.total_grants):
            records, first = _grant_records(grant, LOAD_ID, now, grant >= plan.live_grants)
            batch.extend(records)
            sample = owner[grant]
            if sample is not None:
                kept[sample.name].append(first)
            if len(batch) >= _BATCH:
                await inserter.add(batch)
                batch = []
            if grant and grant % step == 0:
                log(f"tokenrevoke: seeded {grant:,} of {plan.total_grants:,} grants")
        bulk_grants = 0
        while tokens_in_grants(bulk_grants) < bulk:
            records, _ = _grant_records(bulk_grants, BULK_ID, now, False)
            batch.extend(records)
            bulk_grants += 1
            if len(batch) >= _BATCH:
                await inserter.add(batch)
                batch = []
        if batch:
            await inserter.add(batch)
        await inserter.flush()
        for name, tokens in kept.items():
            (samples / f"{name}.txt").write_text("\n".join(tokens) + "\n")
    finally:
        await store.close()
    return _seed_result(plan, bulk_grants, started)


def _seed_result(plan: Plan, bulk_grants: int, started: float) -> SeedResult:
    seconds = time.perf_counter() - started
    total = plan.live_tokens + plan.revoked_tokens + tokens_in_grants(bulk_grants)
    return SeedResult(
        live_tokens=plan.live_tokens,
        revoked_tokens=plan.revoked_tokens,
        bulk_tokens=tokens_in_grants(bulk_grants),
        seconds=round(seconds, 1),
        tokens_per_second=round(total / seconds),
    )


async def _live_tokens_of(url: str, client_id: str) -> int:
    store = await open_store(url)
    try:
        return await store.count_tokens(client_id=client_id, live_at=int(time.time()))
    finally:
        await store.close()


def postgres_unsupported() -> str | None:
    """Why tokenrevoke cannot run on PostgreSQL (None when its store accepts the URL).
    Probes `open_store` with a URL no server listens on: a backend that exists fails to
    connect; a missing one rejects the scheme."""

    async def probe() -> None:
        store = await asyncio.wait_for(
            open_store("postgresql://bench@127.0.0.1:9/tokenrevoke_bench_probe"), 10
        )
        await store.close()

    try:
        asyncio.run(probe())
    except ValueError as exc:
        if "unsupported database url" in str(exc).lower():
            return f"the store does not accept postgresql:// URLs yet ({exc})"
        return None
    except Exception:
        return None  # it tried to connect: the backend exists
    return None


async def _admin_sql(admin_url: str, sql: str) -> None:
    import asyncpg  # the PostgreSQL backend's own driver

    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_unreachable(admin_url: str) -> str | None:
    try:
        asyncio.run(_admin_sql(admin_url, "SELECT 1"))
    except ImportError:
        return "asyncpg is not installed"
    except Exception as exc:
        return f"no PostgreSQL reachable at {admin_url} ({type(exc).__name__}: {exc})"
    return None


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh database beside `admin_url`'s, dropped afterwards."""
    name = f"tokenrevoke_bench_{secrets.token_hex(6)}"
    asyncio.run(_admin_sql(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlsplit(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        asyncio.run(_admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def admin_token_request(scope: str) -> dict[str, Any]:
    """The token request (httpx keyword arguments) for an admin bearer token with `scope`."""
    return {
        "data": {"grant_type": "client_credentials", "scope": scope},
        "auth": (ADMIN_ID, ADMIN_SECRET),
    }


def admin_token_of(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise BenchError(f"admin token: {response.status_code} {response.text}")
    return str(response.json()["access_token"])


def _admin_bearer(http: httpx.Client) -> str:
    return admin_token_of(http.post(ENDPOINTS.token, **admin_token_request(PROPERTIES_WRITE)))


def enable_revoke_all(base_url: str) -> float:
    """allowAllValueForRevokeEndpoint=true through the config API (JSON Patch); returns
    the monotonic time it was accepted (the server applies it within a polling period)."""
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        bearer = _admin_bearer(http)
        patch = [{"op": "replace", "path": "/allowAllValueForRevokeEndpoint", "value": True}]
        response = http.patch(
            CONFIG,
            content=orjson.dumps(patch),
            headers={
                "Authorization": f"Bearer {bearer}",
                "Content-Type": "application/json-patch+json",
            },
        )
        applied = response.status_code == 200 and response.json().get(
            "allowAllValueForRevokeEndpoint"
        )
        if applied is not True:
            raise BenchError(f"config API PATCH: {response.status_code} {response.text}")
    return time.monotonic()


def revoke_all(ctx: RunContext, target: Target, url: str, bulk_tokens: int) -> dict[str, Any]:
    """Revoke-all of the bulk client while a mixed load (revocations and introspections
    of the load client) runs; the load's latency is what other clients saw meanwhile."""
    window = ctx.profile.revoke_all_window
    mixed = Load(
        "mixed",
        target.endpoints.revoke,
        target.sample_file("mixed"),
        target.endpoints.introspect,
        target.sample_file("introspection"),
        authorization=target.authorization,
    )
    log(f"tokenrevoke: revoke-all of {bulk_tokens:,} tokens under a {window:.0f}s mixed load")
    before = asyncio.run(_live_tokens_of(url, BULK_ID))
    outcome: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(ctx.run, target.base_url, mixed, window)
        time.sleep(min(1.0, window / 4))
        started = time.perf_counter()
        with httpx.Client(base_url=target.base_url, timeout=300.0) as http:
            response = http.post(
                target.endpoints.revoke,
                data={"token": "all", "token_type_hint": "all"},
                auth=(BULK_ID, BULK_SECRET),
            )
        outcome["seconds"] = round(time.perf_counter() - started, 3)
        concurrent: LoadResult = future.result()
    if response.status_code != 200:
        raise BenchError(f"revoke-all answered {response.status_code}: {response.text}")
    after = asyncio.run(_live_tokens_of(url, BULK_ID))
    if after != 0:
        raise BenchError(
            f"revoke-all left {after:,} of {before:,} tokens live: was "
            "allowAllValueForRevokeEndpoint applied?"
        )
    outcome.update(
        tokens=before,
        revoked=before - after,
        concurrent_load=concurrent.to_json(),
        concurrent_window_s=window,
        finished_within_window=outcome["seconds"] + min(1.0, window / 4) <= window,
    )
    log(
        f"tokenrevoke: revoke-all {before:,} tokens in {outcome['seconds']:.2f}s; concurrent "
        f"load p99 {concurrent.p99_ms:.1f} ms, {concurrent.rps:,.0f} req/s"
    )
    return outcome


def run_tokenrevoke(ctx: RunContext, backend: str, database_url: str | None) -> dict[str, Any]:
    name = f"tokenrevoke-{backend}"
    data_dir = ctx.workdir / name
    samples = data_dir / "samples"
    samples.mkdir(parents=True)
    master = secrets.token_bytes(32)
    key_path = data_dir / "master.key"
    key_path.write_text(base64.urlsafe_b64encode(master).decode())
    key_path.chmod(0o600)
    url = database_url or sqlite_url(data_dir)
    how = "by COPY" if url.startswith("postgresql") else "through the store API"
    log(
        f"{name}: seeding {ctx.plan.live_tokens:,} live + {ctx.plan.revoked_tokens:,} revoked "
        f"+ {ctx.profile.revoke_all_tokens:,} bulk-client tokens {how}"
    )
    seed = asyncio.run(
        seed_population(url, SecretBox(master), ctx.plan, ctx.profile.revoke_all_tokens, samples)
    )
    log(f"{name}: seeded in {seed.seconds:.1f}s ({seed.tokens_per_second:,} tokens/s)")
    quiet = ctx.wait_quiet(name)
    port = free_port()
    argv = [
        sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--host", HOST,
        "--port", str(port), "--data-dir", str(data_dir), "--admin-client-id", ADMIN_ID,
        "--admin-client-secret", ADMIN_SECRET, "--log-level", "warning", "--workers", "1",
    ]  # fmt: skip
    if database_url:
        argv += ["--database-url", database_url]
    child = ctx.supervisor.start(name, argv, cpus=ctx.server_cpus)
    base_url = f"http://{HOST}:{port}"
    try:
        wait_http(child, f"{base_url}/health/live", timeout=60)
        enabled_at = enable_revoke_all(base_url)
        target = Target(name, base_url, ENDPOINTS, LOAD_ID, LOAD_SECRET, samples, child)
        preflight(target)
        results, checks = measure(ctx, target)
        # The server polls its configuration every 0.5 s; the loads took longer than that,
        # but a quick run may not have.
        time.sleep(max(0.0, enabled_at + 1.5 - time.monotonic()))
        revoke = revoke_all(ctx, target, url, seed.bulk_tokens)
        rss, peak = rss_mb(child.pid)
        if not child.alive():
            raise BenchError(f"{name} died during the run:\n{child.log_tail()}")
    finally:
        ctx.supervisor.stop(child)
    return {
        "backend": backend,
        "seed": {**ctx.plan.to_json(), "bulk_tokens": seed.bulk_tokens, "method": how,
                 "seconds": seed.seconds, "tokens_per_second": seed.tokens_per_second},
        "before_loads": quiet,
        "workloads": {k: v.to_json() for k, v in results.items()},
        "revoke_all": revoke,
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "checks": checks,
        "log": str(child.log_path),
    }  # fmt: skip
