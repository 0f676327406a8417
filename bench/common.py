"""What every target shares: the run's settings, the three loads and the correctness checks
that make sure a load measures real work (a 200 for an unknown client measures nothing)."""

from __future__ import annotations

import base64
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.population import Plan, first_lines, write_introspection_mix
from bench.procs import BenchError, Child, Supervisor, cpu_seconds, machine_cpu_ticks
from bench.wrk import Load, LoadResult, run_wrk

WORKLOADS = ("issuance", "revocation", "introspection")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Profile:
    tokens: int
    revoke_all_tokens: int
    duration: float
    connections: int
    threads: int
    revoke_all_window: float
    quick: bool


@dataclass(slots=True)
class RunContext:
    wrk: str
    profile: Profile
    plan: Plan
    workdir: Path
    supervisor: Supervisor
    server_cpus: frozenset[int] | None
    load_cpus: frozenset[int] | None
    quiet_load: float | None = None
    quiet_max_s: float = 900.0

    def wait_quiet(self, what: str) -> dict[str, object]:
        """With `--wait-load L`: wait (polling every 10 s, up to `--wait-load-max` s) until
        the 1-minute load average is below L. Returns what it saw, for the JSON."""
        load = os.getloadavg()[0]
        if self.quiet_load is None:
            return {"load_average": round(load, 2)}
        started = time.monotonic()
        while load >= self.quiet_load and time.monotonic() - started < self.quiet_max_s:
            log(f"{what}: waiting for a quiet machine (1-minute load {load:.2f} >= "
                f"{self.quiet_load:g})")  # fmt: skip
            time.sleep(10)
            load = os.getloadavg()[0]
        waited = round(time.monotonic() - started)
        quiet = load < self.quiet_load
        log(
            f"{what}: 1-minute load {load:.2f} after waiting {waited}s"
            + ("" if quiet else f" (never below {self.quiet_load:g}: running anyway)")
        )
        return {"load_average": round(load, 2), "waited_s": waited, "quiet": quiet}

    @property
    def wrk_log(self) -> Path:
        return self.workdir / "wrk.log"

    def run(
        self, base_url: str, load: Load, duration: float | None = None, server: Child | None = None
    ) -> LoadResult:
        """wrk's result, with the CPU time `server` spent per request meanwhile, and how
        busy it and the machine were."""
        before = cpu_seconds(server.pid) if server is not None else 0.0
        busy_before, all_before = machine_cpu_ticks()
        result = run_wrk(
            self.wrk,
            base_url,
            load,
            duration=duration if duration is not None else self.profile.duration,
            connections=self.profile.connections,
            threads=self.profile.threads,
            cpus=self.load_cpus,
            log_path=self.wrk_log,
        )
        if server is None or not result.requests:
            return result
        spent = cpu_seconds(server.pid) - before
        busy_after, all_after = machine_cpu_ticks()
        busy, every = busy_after - busy_before, all_after - all_before
        return dataclasses.replace(
            result,
            server_cpu_us=round(spent / result.requests * 1e6, 1),
            server_cpus=round(spent / result.seconds, 2) if result.seconds else None,
            machine_busy_pct=round(100 * busy / every, 1) if every else None,
        )


@dataclass(frozen=True, slots=True)
class Endpoints:
    token: str
    revoke: str
    introspect: str


@dataclass(slots=True)
class Target:
    name: str
    base_url: str
    endpoints: Endpoints
    client_id: str
    client_secret: str
    samples: Path
    child: Child

    @property
    def authorization(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def sample_file(self, name: str) -> Path:
        return self.samples / f"{name}.txt"

    # -- single requests for the checks --------------------------------------------------
    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": self.authorization},
            timeout=30.0,
        )

    def introspect(self, http: httpx.Client, token: str) -> bool:
        response = http.post(self.endpoints.introspect, data={"token": token})
        if response.status_code != 200:
            raise BenchError(
                f"{self.name}: introspection answered {response.status_code}: {response.text}"
            )
        return bool(response.json().get("active"))


def preflight(target: Target) -> None:
    """Each endpoint does what the load assumes, for the load's own client."""
    check = first_lines(target.sample_file("check"), 1)[0]
    revoked = first_lines(target.sample_file("revoked"), 1)[0]
    live = first_lines(target.sample_file("introspection"), 1)[0]
    with target.http() as http:
        issued = http.post(target.endpoints.token, data={"grant_type": "client_credentials"})
        if issued.status_code != 200 or "access_token" not in issued.json():
            raise BenchError(f"{target.name}: token endpoint: {issued.status_code} {issued.text}")
        if not target.introspect(http, issued.json()["access_token"]):
            raise BenchError(f"{target.name}: a token just issued introspects inactive")
        if not target.introspect(http, live):
            raise BenchError(f"{target.name}: a seeded live token introspects inactive")
        if target.introspect(http, revoked):
            raise BenchError(f"{target.name}: a seeded revoked token introspects active")
        if not target.introspect(http, check):
            raise BenchError(f"{target.name}: the check token introspects inactive")
        response = http.post(target.endpoints.revoke, data={"token": check})
        if response.status_code != 200:
            raise BenchError(f"{target.name}: revoke: {response.status_code} {response.text}")
        if target.introspect(http, check):
            raise BenchError(f"{target.name}: a revoked token still introspects active")


def verify_revoked(target: Target, count: int = 10) -> int:
    """After the revocation load: the first tokens each wrk thread sent are now inactive."""
    tokens = first_lines(target.sample_file("revocation"), count)
    with target.http() as http:
        still_active = [i for i, t in enumerate(tokens) if target.introspect(http, t)]
    if still_active:
        raise BenchError(
            f"{target.name}: {len(still_active)} of {len(tokens)} tokens sent to the revocation "
            f"endpoint still introspect active (lines {still_active} of "
            f"{target.sample_file('revocation')}): the revocation load did not revoke them"
        )
    return len(tokens)


def measure(ctx: RunContext, target: Target) -> tuple[dict[str, LoadResult], dict[str, object]]:
    """The three loads, in this order: issuance, introspection, revocation."""
    mix = write_introspection_mix(target.samples)
    ep = target.endpoints
    results: dict[str, LoadResult] = {}
    log(f"{target.name}: issuance (client_credentials)")
    results["issuance"] = ctx.run(
        target.base_url,
        Load("issue", ep.token, authorization=target.authorization),
        server=target.child,
    )
    log(f"{target.name}: introspection (80% live, 20% revoked)")
    results["introspection"] = ctx.run(
        target.base_url,
        Load("token", ep.introspect, mix, authorization=target.authorization),
        server=target.child,
    )
    log(f"{target.name}: revocation (a different live grant per request)")
    results["revocation"] = ctx.run(
        target.base_url,
        Load(
            "token",
            ep.revoke,
            target.sample_file("revocation"),
            authorization=target.authorization,
        ),
        server=target.child,
    )
    checks: dict[str, object] = {"revoked_verified": verify_revoked(target)}
    for name, result in results.items():
        log(
            f"{target.name}: {name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms, errors {result.errors}, server CPU "
            f"{result.server_cpu_us} us per request"
        )
    return results, checks
