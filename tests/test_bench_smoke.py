"""The benchmark harness must never rot: run `python -m bench --quick` (tiny population, two
seconds per workload) and check that every workload of every target produced numbers and
no errors. Skips only when wrk or node cannot be had on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.procs import BenchError
from bench.soak import MIX
from bench.wrk import ensure_wrk

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("issuance", "revocation", "introspection")


def _check_workload(label: str, w: dict[str, Any]) -> None:
    assert w["requests"] > 0, (label, w)
    assert w["rps"] > 0, (label, w)
    assert w["p50_ms"] > 0 and w["p99_ms"] > 0 and w["p99_ms"] >= w["p50_ms"], (label, w)
    assert w["errors"] == 0, (label, w)
    assert w["non_2xx"] == 0 and w["socket_errors"] == 0, (label, w)


@pytest.mark.timeout(240)
def test_bench_quick_run(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the peer (oidc-provider) cannot run")
    try:
        ensure_wrk()  # installs Debian's wrk when missing and root
    except BenchError as exc:
        pytest.skip(f"wrk cannot be obtained here: {exc}")

    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--time-limit", "200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "tokenrevoke/peer" in proc.stdout  # the one table was printed
    assert "server CPU per request" in proc.stdout
    assert "CPUs the server kept busy" in proc.stdout
    result = json.loads(out.read_text())

    for target, names in (
        ("tokenrevoke", WORKLOADS),
        ("peer", WORKLOADS),
        ("ceiling", ("hello",)),
    ):
        section = result[target]
        assert "skipped" not in section, (target, section)
        assert set(names) <= set(section["workloads"]), (target, section["workloads"])
        for name in names:
            _check_workload(f"{target} {name}", section["workloads"][name])
            # The server's CPU per request: something, and no more than a whole second.
            workload = section["workloads"][name]
            cpu = workload["server_cpu_us"]
            assert cpu is not None and 0 < cpu < 1e6, (target, name, cpu)
            # How busy the server and the machine were: real shares, not placeholders.
            cpus, busy = workload["server_cpus"], workload["machine_busy_pct"]
            assert 0 < cpus <= (os.cpu_count() or 1), (target, name, cpus)
            assert 0 < busy <= 100, (target, name, busy)
        assert section["rss_mb"] > 0, target

    postgres = result["tokenrevoke_postgresql"]
    if "skipped" not in postgres:  # only where PostgreSQL is up (CI starts it)
        for name in WORKLOADS:
            _check_workload(f"postgresql {name}", postgres["workloads"][name])

    for section in (result["tokenrevoke"], postgres):
        revoke_all = section.get("revoke_all")
        if revoke_all is None:
            continue
        assert revoke_all["seconds"] > 0
        assert revoke_all["tokens"] > 0 and revoke_all["revoked"] == revoke_all["tokens"]
        _check_workload("revoke-all concurrent load", revoke_all["concurrent_load"])

    for name in WORKLOADS:
        ratio = result["ratios"][name]
        assert ratio["peer"] > 0 and ratio["ceiling"] > 0, (name, ratio)
    assert result["machine"]["nproc"] >= 1


@pytest.mark.timeout(120)
def test_soak_smoke_run(tmp_path: Path) -> None:
    """The soak (issue 8's ten-minute mixed load) in miniature: every operation of the mix
    ran, every answer checked out, and the result says so."""
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--minutes",
            "0.15",
            "--sample-every",
            "3",
            "--concurrency",
            "8",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    result = json.loads(out.read_text())
    totals = result["totals"]
    assert totals["errors_total"] == 0, totals["error_examples"]
    assert set(totals["requests"]) == set(MIX), totals["requests"]
    assert all(n > 0 for n in totals["requests"].values()), totals["requests"]
    assert len(result["samples"]) >= 3 and all(s["rss_mb"] > 0 for s in result["samples"])
    assert result["verdict"]["zero_errors"] is True


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workload", ["introspection", "issuance", "revocation"])
def test_inprocess_profile_driver(workload: str) -> None:
    """`python -m bench.inprocess` (CPU per request without sockets) runs and reports."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.inprocess", workload,
         "--requests", "256", "--tokens", "20", "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "CPU per request" in proc.stdout, proc.stdout


def test_sqlite_layout_micro_benchmark() -> None:
    """`python -m bench.sqlite_layout` builds each layout and measures all three writes."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sqlite_layout", "--rows", "2000", "--writes", "64"],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if "point read" in line]
    layouts = [line.split()[0] for line in lines]
    assert layouts == ["by-client", "by-time", "issue-order"], proc.stdout


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_two_nodes_quick_run(tmp_path: Path) -> None:
    """`python -m bench.nodes`: both nodes served every workload, with the cross-node
    checks passed (it exits 1 on a stale answer)."""
    from tests.support.postgres import ADMIN_URL

    try:
        ensure_wrk()
    except BenchError as exc:
        pytest.skip(f"wrk cannot be obtained here: {exc}")
    out = tmp_path / "nodes.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.nodes", "--quick", "--tokens", "2000", "--duration", "1",
         "--postgres-url", ADMIN_URL, "--out", str(out), "--time-limit", "150"],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert result["workloads"]["cross_node_checks"]["stale"] == 0
    for name in WORKLOADS:
        for node, w in result["workloads"][name]["nodes"].items():
            _check_workload(f"node {node} {name}", w)
        assert result["workloads"][name]["aggregate"]["rps"] > 0
