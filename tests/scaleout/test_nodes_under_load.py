"""The scale-out interleavings (test_nodes.py) while the benchmark's load (bench/load.lua,
driven by wrk) runs against both nodes: issuance, revocation and introspection on each.
A node busy with other clients' writes must still never answer for a token as if a
revocation acknowledged on the other node had not happened."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.procs import BenchError
from bench.wrk import Load, LoadResult, ensure_wrk, run_wrk

from tests.scaleout.test_nodes import create_client, node, run_interleavings
from tests.support.server import AUTH, Server
from tokenrevoke.crypto import new_grant_id, new_token, sha256_hex
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.store import open_store

INTERLEAVINGS_SECONDS = 8  # as many interleavings as start within this
LOAD_TOKENS = 2_000  # per node, revoked by that node's load
CHUNK = 200  # of them per one-second wrk run, so that each run revokes live tokens
LOAD_MAX_SECONDS = 20  # the load stops here at the latest


@pytest.fixture(scope="module")
def loaded_nodes(
    tmp_path_factory: pytest.TempPathFactory, shared_database: str, master_key: str
) -> Iterator[tuple[Server, Server]]:
    a = node(tmp_path_factory.mktemp("load-a"), shared_database, master_key).start()
    b = node(tmp_path_factory.mktemp("load-b"), shared_database, master_key).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _seed(database_url: str, client_id: str, count: int) -> list[str]:
    """`count` live access tokens of the client, written straight to the shared store (the
    nodes read them from there); their raw values."""
    now = int(time.time())
    raws = [new_token() for _ in range(count)]
    records = [
        TokenRecord(
            sha256_hex(raw),
            new_grant_id(),
            client_id,
            TokenType.ACCESS_TOKEN,
            "client_credentials",
            now,
            now + 3600,
        )  # fmt: skip
        for raw in raws
    ]

    async def insert() -> None:
        store = await open_store(database_url)
        try:
            await store.insert_tokens(records)
        finally:
            await store.close()

    asyncio.run(insert())
    return raws


class BackgroundLoad:
    """wrk runs of one second, one after another per load, until stopped. A load with a
    token file sends the next `CHUNK` of its tokens first in each run (wrk starts a file
    over at every run)."""

    def __init__(self, wrk: str, runs: list[tuple[Server, Load]]) -> None:
        self._wrk = wrk
        self._runs = runs
        self._stop = threading.Event()
        self.results: list[LoadResult] = []
        self.started = self.ended = 0.0
        self._threads = [threading.Thread(target=self._loop, args=run) for run in runs]

    def _loop(self, server: Server, load: Load) -> None:
        deadline = time.monotonic() + LOAD_MAX_SECONDS
        tokens = load.file_a.read_text().split() if load.file_a else []
        run = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            if load.file_a is not None:
                start = run * CHUNK % len(tokens)
                rotated = load.file_a.with_suffix(f".{run}")
                rotated.write_text("\n".join(tokens[start:] + tokens[:start]) + "\n")
                load = dataclasses.replace(load, file_a=rotated)
            result = run_wrk(self._wrk, server.url, load, duration=1, connections=4, threads=1)
            self.results.append(result)
            run += 1

    def __enter__(self) -> BackgroundLoad:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self.ended = time.monotonic()


def _active(server: Server, tokens: list[str], credentials: tuple[str, str]) -> list[bool]:
    with httpx.Client(base_url=server.url, auth=credentials, timeout=30) as http:
        answers = [http.post(f"{AUTH}/introspection", data={"token": t}) for t in tokens]
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.json()["active"] is True for answer in answers]


def test_interleavings_stay_exact_while_both_nodes_are_loaded(
    loaded_nodes: tuple[Server, Server], shared_database: str, tmp_path: Path
) -> None:
    try:
        wrk = ensure_wrk()  # installs Debian's wrk when missing and root (as in CI)
    except BenchError as exc:
        pytest.skip(f"wrk cannot be obtained here: {exc}")
    a, b = loaded_nodes
    credentials = create_client(a, "load")
    authorization = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    seeded = _seed(shared_database, credentials[0], 2 * LOAD_TOKENS + 100)
    files = [tmp_path / "revoke-a.txt", tmp_path / "revoke-b.txt", tmp_path / "live.txt"]
    for index, path in enumerate(files):
        path.write_text("\n".join(seeded[index * LOAD_TOKENS : (index + 1) * LOAD_TOKENS]) + "\n")
    live = files.pop()
    token, revoke, introspect = f"{AUTH}/token", f"{AUTH}/revoke", f"{AUTH}/introspection"
    runs = [
        (a, Load("issue", token, authorization=authorization)),
        (b, Load("issue", token, authorization=authorization)),
        # Each node revokes its own share of the load's tokens, and introspects between.
        (a, Load("mixed", revoke, files[0], introspect, live, authorization)),
        (b, Load("mixed", revoke, files[1], introspect, live, authorization)),
    ]

    with BackgroundLoad(wrk, runs) as load:
        time.sleep(1.0)  # the load is under way before the first interleaving
        began = time.monotonic()
        ran = run_interleavings(a, b, seed=11, seconds=INTERLEAVINGS_SECONDS)
        finished = time.monotonic()

    assert ran >= 20, f"only {ran} interleavings ran"
    # The load ran the whole time, on both nodes, and every answer it got was a 2xx.
    assert load.started < began and finished < load.ended
    assert finished - load.started < LOAD_MAX_SECONDS, "the load stopped before the end"
    assert len(load.results) >= len(runs) * 2
    assert sum(r.requests for r in load.results) > 0
    assert [r for r in load.results if r.errors] == []
    # wrk does not say which of its revocations were answered; once it has stopped, both
    # nodes must give one answer for each token the load may have sent, some revoked.
    sent = [t for path in files for t in path.read_text().split()[: CHUNK * 2]]
    on_a = _active(a, sent, credentials)
    assert on_a == _active(b, sent, credentials)
    assert not all(on_a), "the load revoked none of its first tokens"
