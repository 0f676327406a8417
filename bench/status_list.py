"""Token Status List costs (not a test): `python -m bench.status_list`.

1. Build: a SQLite store holding N tokens of one list, a fraction of them revoked; how long
   a build takes (the read of the revoked rows, then encoding and signing) and how big the
   list is (raw bytes, `lst`, the whole Status List Token).
2. Storm: revocations at a steady rate (batches of grants every 10 ms) against that store,
   while the list is asked for every 50 ms, as the endpoint is (rebuilt at most once a
   second): how long after its commit a revocation shows in a published list, and how long
   builds take meanwhile.

The rows are the server's own (`INSERT_TOKEN`'s columns, every index); only the token
codes and grant ids are shorter than real ones, to seed 10M rows in minutes: a build reads
only the revoked rows' entries of the status index, never those columns.

    .venv/bin/python -m bench.status_list --tokens 1000000 --revoked 0.01 --storm-rate 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from tokenrevoke.crypto import SecretBox
from tokenrevoke.model import AppConfiguration, AuditEvent
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.status_lists import PublishedList, StatusLists, current_list
from tokenrevoke.store import RevocationTarget
from tokenrevoke.store.sqlite.migrating import migrate
from tokenrevoke.store.sqlite.rows import INSERT_TOKEN, SPARE
from tokenrevoke.store.sqlite.store import SqliteStore


async def seed(path: Path, tokens: int, revoked: float, list_id: int, now: int) -> list[int]:
    """`tokens` access tokens of list `list_id` (index = n), a random `revoked` fraction of
    them revoked (random, as revocations are: a regular pattern would compress to nothing);
    returns the token numbers left live."""
    await migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("INSERT INTO revokers (revoked_by, revoke_reason) VALUES ('bench', 'bench')")
    rng = random.Random(25)  # noqa: S311 - a reproducible pattern, not a secret
    live: list[int] = []
    for start in range(0, tokens, 200_000):
        rows = []
        for n in range(start, min(tokens, start + 200_000)):
            dead = rng.random() < revoked
            if not dead:
                live.append(n)
            rows.append((
                f"c{n:x}", f"g{n:x}", "bench", None, None, None, "access_token",
                "client_credentials", now, now + 3600, "", None, None, 1, list_id, n,
                now if dead else None, 1 if dead else None, None if dead else SPARE,
            ))  # fmt: skip
        conn.execute("BEGIN")
        conn.executemany(INSERT_TOKEN, rows)
        conn.execute("COMMIT")
    conn.execute("INSERT INTO status_lists (id, next_idx) VALUES (?, ?)", (list_id, tokens))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return live


async def measure(args: argparse.Namespace, directory: Path) -> None:
    now = int(time.time())
    config = AppConfiguration.build({"statusListBitSize": args.bits}, 1, "https://bench.example")
    list_id = current_list(config, now)
    started = time.monotonic()
    live = await seed(directory / "bench.db", args.tokens, args.revoked, list_id, now)
    print(f"seeded {args.tokens:,} tokens ({args.tokens - len(live):,} revoked) "
          f"in {time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
    store = await SqliteStore.open(directory / "bench.db")
    keys = KeyRing(store, SecretBox(os.urandom(32)))
    await keys.rotate_if_due(48, 3600)
    lists = StatusLists(store, keys, lambda: config)
    try:
        reads, builds = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            state = await store.read_status_list(list_id)
            reads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            built = await lists._build(list_id, True)
            builds.append(time.perf_counter() - t0)
        assert state is not None and built is not None
        lst = str(built.status_list["lst"])
        print(f"list of {args.tokens:,} entries, {args.bits} bits, {len(state.revoked):,} "
              f"revoked: raw {args.tokens * args.bits // 8:,} B, lst {len(lst):,} B, "
              f"token {len(built.jwt):,} B", flush=True)  # fmt: skip
        print(f"build: median {statistics.median(builds) * 1000:.0f} ms "
              f"(read of the revoked rows {statistics.median(reads) * 1000:.0f} ms), "
              f"max {max(builds) * 1000:.0f} ms over {args.repeat}", flush=True)  # fmt: skip
        if args.storm_rate:
            await storm(args, store, lists, list_id, live)
    finally:
        await store.close()


async def storm(
    args: argparse.Namespace, store: SqliteStore, lists: StatusLists, list_id: int,
    live: list[int],
) -> None:  # fmt: skip
    per_batch = max(1, args.storm_rate // 100)  # a batch every 10 ms
    batches = min(len(live) // per_batch, int(args.storm_seconds * 100))
    committed: list[tuple[float, int]] = []  # (commit time, highest token number revoked)
    published: list[tuple[float, float, PublishedList]] = []  # (read start, publish, list)
    audit = AuditEvent("revoke", "bench", "storm")
    done = asyncio.Event()

    async def revoke() -> None:
        start = time.monotonic()
        for b in range(batches):
            chunk = live[b * per_batch : (b + 1) * per_batch]
            grants = [f"g{n:x}" for n in chunk]
            await store.revoke(RevocationTarget.grants(grants), int(time.time()), audit)
            committed.append((time.monotonic(), chunk[-1]))
            delay = start + (b + 1) / 100 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        done.set()

    async def read() -> None:
        # Until every batch shows: a second past the storm at most.
        while not done.is_set() or published[-1][0] <= committed[-1][0]:
            asked = time.monotonic()
            got = await lists.get(list_id)
            assert got is not None
            if not published or published[-1][2] is not got:
                published.append((got.built_at, time.monotonic(), got))
            await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - asked)))

    started = time.monotonic()
    await asyncio.gather(revoke(), read())
    elapsed = committed[-1][0] - started
    # A revocation shows in the first list whose read started after its commit.
    lags = []
    for at, _ in committed:
        shown = next((pub for read_at, pub, _ in published if read_at > at), None)
        if shown is not None:
            lags.append(shown - at)
    lags.sort()
    build_times = [pub - read_at for read_at, pub, _ in published]
    rate = len(committed) * per_batch / elapsed
    print(f"storm: {rate:,.0f} revocations/s for {elapsed:.1f} s, {len(published)} builds "
          f"(median {statistics.median(build_times) * 1000:.0f} ms, "
          f"max {max(build_times) * 1000:.0f} ms)", flush=True)  # fmt: skip
    print(f"commit -> published: median {lags[len(lags) // 2] * 1000:.0f} ms, "
          f"p99 {lags[int(len(lags) * 0.99)] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms "
          f"({len(lags)} batches of {per_batch})",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--revoked", type=float, default=0.01, help="fraction revoked")
    parser.add_argument("--bits", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="builds to time")
    parser.add_argument("--storm-rate", type=int, default=0, help="revocations/s (0: none)")
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(measure(args, args.dir))
        return
    with tempfile.TemporaryDirectory(prefix="tokenrevoke-status-bench-") as directory:
        asyncio.run(measure(args, Path(directory)))


if __name__ == "__main__":
    main()
