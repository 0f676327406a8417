"""The machine, the one results table, the JSON file and the docs section."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:results:begin (python -m bench --update-docs rewrites this section) -->"
END = "<!-- bench:results:end -->"
LABELS = {
    "issuance": "issuance (client_credentials)",
    "revocation": "revocation (a different live grant each)",
    "introspection": "introspection (80% live, 20% revoked)",
}


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            name: _version(name) for name in ("tokenrevoke", "uvicorn", "uvloop", "httptools")
        },
    }


def machine_line(m: dict[str, Any]) -> str:
    """`machine()` in one line, for the docs."""
    return (
        f"{m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}; load average at start "
        f"{', '.join(str(x) for x in m['load_average_at_start'])}"
    )


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _workload(result: dict[str, Any], target: str, name: str) -> dict[str, Any] | None:
    section = result.get(target) or {}
    found: dict[str, Any] | None = (section.get("workloads") or {}).get(name)
    return found


def ratios(result: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    ceiling = _workload(result, "ceiling", "hello")
    out: dict[str, dict[str, float | None]] = {}
    for name in LABELS:
        ours = _workload(result, "tokenrevoke", name)
        peer = _workload(result, "peer", name)
        out[name] = {
            "peer": round(ours["rps"] / peer["rps"], 2) if ours and peer and peer["rps"] else None,
            "ceiling": round(ours["rps"] / ceiling["rps"], 2)
            if ours and ceiling and ceiling["rps"]
            else None,
        }
    return out


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, judged on this run (ratios count only within one run)."""
    r = result["ratios"]
    checks: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: str, met: bool | None) -> None:
        checks.append({"target": name, "value": value, "goal": goal, "met": met})

    for name, goal in (("revocation", 2.0), ("introspection", 2.0), ("issuance", 1.5)):
        value = r[name]["peer"]
        add(f"{name} vs peer", value, f">= {goal}x", None if value is None else value >= goal)
    value = r["introspection"]["ceiling"]
    add("introspection vs ceiling", value, ">= 0.5x", None if value is None else value >= 0.5)
    for name in LABELS:
        ours = _workload(result, "tokenrevoke", name)
        p99 = ours["p99_ms"] if ours else None
        add(f"{name} p99 (ms)", p99, "<= 25", None if p99 is None else p99 <= 25)
    revoke_all = (result.get("tokenrevoke") or {}).get("revoke_all")
    if revoke_all:
        seconds = revoke_all["seconds"]
        add(f"revoke-all of {revoke_all['tokens']:,} tokens (s)", seconds, "<= 2", seconds <= 2)
        p99 = revoke_all["concurrent_load"]["p99_ms"]
        add("p99 of concurrent requests during revoke-all (ms)", p99, "<= 100", p99 <= 100)
    return checks


def _rps(w: dict[str, Any] | None) -> str:
    return f"{w['rps']:,.0f}" if w else "-"


def _ms(w: dict[str, Any] | None, key: str) -> str:
    return f"{w[key]:.2f}" if w else "-"


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def table(result: dict[str, Any]) -> str:
    ceiling = _workload(result, "ceiling", "hello")
    lines = [
        "| workload | tokenrevoke req/s | p50 ms | p99 ms | peer req/s | p50 ms | p99 ms "
        "| ceiling req/s | tokenrevoke/peer | tokenrevoke/ceiling |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    sqlite_skipped = bool((result.get("tokenrevoke") or {}).get("skipped"))
    for name, label in LABELS.items():
        ours = _workload(result, "tokenrevoke", name)
        peer = _workload(result, "peer", name)
        ratio = result["ratios"][name]
        if sqlite_skipped and not peer and not ceiling:
            continue  # --stores postgresql --skip-peer --skip-ceiling: nothing to show here
        lines.append(
            f"| {label} | {_rps(ours)} | {_ms(ours, 'p50_ms')} | {_ms(ours, 'p99_ms')} "
            f"| {_rps(peer)} | {_ms(peer, 'p50_ms')} | {_ms(peer, 'p99_ms')} "
            f"| {_rps(ceiling)} | {_ratio(ratio['peer'])} | {_ratio(ratio['ceiling'])} |"
        )
    pg = result.get("tokenrevoke_postgresql") or {}
    for name, label in LABELS.items():
        ours = _workload(result, "tokenrevoke_postgresql", name)
        if ours:
            lines.append(
                f"| {label}, PostgreSQL | {_rps(ours)} | {_ms(ours, 'p50_ms')} "
                f"| {_ms(ours, 'p99_ms')} | | | | | | |"
            )
    lines.append("")
    lines.extend(_facts(result, pg))
    return "\n".join(lines)


_SERVERS = (
    ("tokenrevoke", "tokenrevoke"),
    ("peer", "peer"),
    ("tokenrevoke_postgresql", "on PostgreSQL"),
)


def _per_workload(
    result: dict[str, Any], render: Callable[[dict[str, Any]], str | None]
) -> list[str]:
    """Per workload (and the ceiling), `render` of each server's result that it renders."""
    out = []
    for name, label in LABELS.items():
        parts = []
        for key, who in _SERVERS:
            w = _workload(result, key, name)
            text = render(w) if w else None
            if text is not None:
                parts.append(f"{who} {text}")
        if parts:
            out.append(f"{label.split(' (')[0]}: {', '.join(parts)}")
    ceiling = _workload(result, "ceiling", "hello")
    text = render(ceiling) if ceiling else None
    if text is not None:
        out.append(f"ceiling: {text}")
    return out


def _cpu_per_request(w: dict[str, Any]) -> str | None:
    cpu = w.get("server_cpu_us")
    return None if cpu is None else f"{cpu:,.0f}"


def _cpu_use(w: dict[str, Any]) -> str | None:
    cpus, busy = w.get("server_cpus"), w.get("machine_busy_pct")
    return None if cpus is None or busy is None else f"{cpus:.2f} (machine {busy:.0f}%)"


def _facts(result: dict[str, Any], pg: dict[str, Any]) -> list[str]:
    out: list[str] = []
    ours = result.get("tokenrevoke") or {}
    revoke_all = ours.get("revoke_all")
    if revoke_all:
        load = revoke_all["concurrent_load"]
        out.append(
            f"- revoke-all (`token=all&token_type_hint=all`) of a client holding "
            f"{revoke_all['tokens']:,} tokens: **{revoke_all['seconds']:.2f} s**; meanwhile a "
            f"mixed revoke/introspect load on another client ran at {load['rps']:,.0f} req/s, "
            f"p50 {load['p50_ms']:.2f} ms, p99 **{load['p99_ms']:.2f} ms**, max "
            f"{load['max_ms']:.1f} ms, errors {load['errors']}"
            + (
                ""
                if revoke_all.get("finished_within_window", True)
                else " (the revoke-all outlasted that load: raise --revoke-all-window)"
            )
        )
    pg_revoke_all = pg.get("revoke_all")
    if pg_revoke_all:
        load = pg_revoke_all["concurrent_load"]
        out.append(
            f"- PostgreSQL revoke-all of {pg_revoke_all['tokens']:,} tokens: "
            f"{pg_revoke_all['seconds']:.2f} s; concurrent load p99 {load['p99_ms']:.2f} ms"
        )
    cpu = _per_workload(result, _cpu_per_request)
    if cpu:
        out.append("- server CPU per request (all its threads, us): " + "; ".join(cpu))
    use = _per_workload(result, _cpu_use)
    if use:
        out.append(
            "- CPUs the server kept busy during each load (its CPU seconds per second), and in "
            "brackets how busy all the machine's CPUs were: " + "; ".join(use)
        )
    rss = []
    for key, label in (
        ("tokenrevoke", "tokenrevoke"),
        ("tokenrevoke_postgresql", "tokenrevoke on PostgreSQL"),
        ("peer", "peer"),
        ("ceiling", "ceiling"),
    ):
        section = result.get(key) or {}
        if "rss_mb" in section:
            rss.append(f"{label} {section['rss_mb']:,.0f} MiB (peak {section['peak_rss_mb']:,.0f})")
    if rss:
        out.append("- server RSS after the loads: " + ", ".join(rss))
    errors = []
    for key in ("tokenrevoke", "peer", "ceiling", "tokenrevoke_postgresql"):
        for name, w in ((result.get(key) or {}).get("workloads") or {}).items():
            if w["errors"]:
                errors.append(
                    f"{key} {name}: {w['non_2xx']} non-2xx, {w['socket_errors']} socket errors"
                )
    out.append("- errors: " + ("; ".join(errors) if errors else "none"))
    for key in ("tokenrevoke", "tokenrevoke_postgresql", "peer"):
        w = _workload(result, key, "revocation")
        if w and w["reused_tokens"]:
            out.append(
                f"- {key} revocation: {w['reused_tokens']:,} of {w['requests']:,} requests "
                "reused a token (the sample ran out: use more --tokens or a shorter --duration)"
            )
    if pg.get("skipped"):
        out.append(f"- PostgreSQL: skipped: {pg['skipped']}")
    for key in ("tokenrevoke", "peer", "ceiling"):
        skipped = (result.get(key) or {}).get("skipped")
        if skipped:
            out.append(f"- {key}: skipped: {skipped}")
    met = [t for t in result.get("targets", []) if t["met"] is not None]
    if met:
        out.append(
            "- targets (issue 5): "
            + "; ".join(
                f"{t['target']} {t['value']:.2f} ({t['goal']}): {'met' if t['met'] else 'NOT met'}"
                for t in met
            )
        )
    return out


def caveats(result: dict[str, Any]) -> list[str]:
    """Why this run's numbers may not be the reference ones."""
    out: list[str] = []
    m = result["machine"]
    if result["profile"]["tokens"] < 1_000_000:
        out.append(f"not the reference run: {result['profile']['tokens']:,} tokens, not 1,000,000")
    busy = m["load_average_at_start"][0]
    if busy > 0.5 * m["nproc"]:
        out.append(
            f"the machine was busy (1-minute load average {busy} on {m['nproc']} CPUs at "
            "the start): even the ratios are unreliable"
        )
    return out


def docs_section(result: dict[str, Any]) -> str:
    m = result["machine"]
    profile = result["profile"]
    population = result["population"]
    peer = result.get("peer") or {}
    software = [f"tokenrevoke {m['versions']['tokenrevoke']} (SQLite, one process)"]
    if peer.get("software"):
        software.append(f"{peer['software']} on node {peer['node']}")
    software.append(
        f"uvicorn {m['versions']['uvicorn']} + uvloop {m['versions']['uvloop']} "
        f"+ httptools {m['versions']['httptools']}"
    )
    software.append(result.get("wrk_version", "wrk"))
    return "\n".join(
        [
            BEGIN,
            "",
            f"Run on {result['started_at'][:10]} "
            f"({result['started_at']}, {result['seconds']:.0f} s in all).",
            "",
            f"- machine: {machine_line(m)}",
            f"- population: {population['live_tokens']:,} live tokens in "
            f"{population['live_grants']:,} grants (2 to 3 tokens each), "
            f"{population['revoked_tokens']:,} revoked; tokenrevoke also holds the revoke-all "
            f"client's {profile['revoke_all_tokens']:,} tokens",
            f"- load: wrk, {profile['connections']} connections, {profile['threads']} threads, "
            f"{profile['duration']:g} s per workload"
            + (", server and wrk pinned to separate CPUs" if profile.get("pin") else ""),
            f"- software: {'; '.join(software)}",
            f"- command: `{result['command']}`",
            *(f"- **caveat**: {c}" for c in caveats(result)),
            "",
            table(result),
            "",
            END,
        ]
    )


def update_docs(result: dict[str, Any], path: Path = DOCS) -> None:
    replace_section(path, BEGIN, END, docs_section(result), heading="Latest results")


def replace_section(path: Path, begin: str, end: str, section: str, heading: str) -> None:
    """Put `section` between the `begin` and `end` markers of a page (`section` carries
    them), or append it under `heading` when the page has no such markers yet."""
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + section + "\n"
    path.write_text(text)
