"""A revocation answered 200 survives `kill -9` of the server and a restart.

A storm of concurrent revocations runs against a real server, which is SIGKILLed in the
middle of it. Every revocation that got a 200 before the kill must still hold after a
restart on the same store (and after every later crash); every token whose revocation was
never sent must still be active. Twenty rounds on SQLite and on PostgreSQL, each killed
after a random number of 200s (the seed is printed; TOKENREVOKE_DURABILITY_SEED replays a
run).

Kept fast: after each restart the round's own tokens are checked, plus a sample of the
earlier rounds'; every token of every round is checked once after the last crash.
"""

from __future__ import annotations

import base64
import enum
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.postgres import throwaway_database
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server

WORKERS = 16
ROUNDS = 20
PER_ROUND = 100  # client_credentials access tokens revoked in each round
# Password grants whose refresh token is revoked (the cascade); few, as each costs an argon2
# verification.
GRANTS_PER_ROUND = 1
NEVER_SENT = 60
# After each restart, this many tokens of the earlier rounds are checked again.
RECHECK_SAMPLE = 100
USERNAME = "durable-user"
PASSWORD = "durable-user-password"


def kill_moments(seed: int) -> list[int]:
    """After how many 200s each round's kill comes: anywhere from the first answer to
    late in the storm, leaving room for the requests in flight (up to WORKERS)."""
    rng = random.Random(seed)
    return [rng.randint(1, PER_ROUND - 2 * WORKERS) for _ in range(ROUNDS)]


class Outcome(enum.Enum):
    NOT_SENT = "not sent"  # the request never left the test
    UNKNOWN = "unknown"  # sent, but no answer before the kill (may or may not be revoked)
    REVOKED = "200"  # answered 200: must be revoked forever
    REFUSED = "refused"  # answered something else: a bug in this test


def database_args(server: Server) -> list[str]:
    """The store options of a server, for local commands (`user create`) on its store."""
    args = server.extra_args
    return (
        args[args.index("--database-url") : args.index("--database-url") + 2]
        if "--database-url" in args
        else []
    )


def issue(server: Server, client: Client, count: int, **form: str) -> list[dict[str, str]]:
    """`count` token responses, requested from a few threads."""
    form = form or {"grant_type": "client_credentials"}
    local = threading.local()

    def one(_: int) -> dict[str, str]:
        if not hasattr(local, "http"):
            local.http = server.http(auth=client.basic)
        response = local.http.post(f"{AUTH}/token", data=form)
        assert response.status_code == 200, response.text
        body: dict[str, str] = response.json()
        return body

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(one, range(count)))


def active_states(server: Server, tokens: list[str]) -> dict[str, bool]:
    """Introspect many tokens concurrently (admin credentials)."""
    local = threading.local()

    def one(token: str) -> bool:
        if not hasattr(local, "http"):
            local.http = server.http(auth=(ADMIN_ID, ADMIN_SECRET))
        response = local.http.post(f"{AUTH}/introspection", data={"token": token})
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])

    with ThreadPoolExecutor(8) as pool:
        return dict(zip(tokens, pool.map(one, tokens), strict=True))


class Storm:
    """Revoke `tokens` from WORKERS threads; `kill` the server after `kill_after` 200s."""

    def __init__(self, server: Server, client: Client, tokens: list[str]) -> None:
        self.server = server
        self.client = client
        self.tokens = tokens
        self.outcomes = dict.fromkeys(tokens, Outcome.NOT_SENT)
        self.lock = threading.Lock()
        self.oks = 0
        self.kill_after = 0
        self.killed = threading.Event()
        self.local = threading.local()
        self.clients: list[httpx.Client] = []

    def http(self) -> httpx.Client:
        if not hasattr(self.local, "http"):
            self.local.http = self.server.http(auth=self.client.basic)
            with self.lock:
                self.clients.append(self.local.http)
        http: httpx.Client = self.local.http
        return http

    def revoke(self, token: str) -> None:
        if self.killed.is_set():
            return  # stays NOT_SENT
        with self.lock:
            self.outcomes[token] = Outcome.UNKNOWN
        try:
            response = self.http().post(f"{AUTH}/revoke", data={"token": token})
        except httpx.TransportError:
            return  # the server died under us: UNKNOWN
        with self.lock:
            if response.status_code == 200:
                self.outcomes[token] = Outcome.REVOKED
                self.oks += 1
                if self.oks == self.kill_after:
                    # The worker that records the chosen 200 kills the server, holding the
                    # lock: no other 200 is recorded meanwhile, and the kill lands while the
                    # rest of the storm is still to come (a separate waiter, woken after
                    # this, could lose the lock to the workers until the storm was over).
                    self.server.kill()
                    self.killed.set()
            elif not self.killed.is_set():
                self.outcomes[token] = Outcome.REFUSED

    def run(self, kill_after: int) -> float:
        """Returns how long after the start the kill came."""
        start = time.monotonic()
        self.kill_after = kill_after
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(self.revoke, t) for t in self.tokens]
            assert self.killed.wait(timeout=20), f"only {self.oks} revocations answered 200"
            killed_at = time.monotonic() - start
            wait(futures, timeout=30)
        for http in self.clients:
            http.close()
        return killed_at

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o is outcome)


@pytest.fixture(params=["sqlite", "postgres"])
def make_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Servers on the same store: the embedded SQLite file, or a PostgreSQL database (with
    the master key in the environment, as nodes sharing a database must have it)."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        yield lambda: Server(data_dir)
        return
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    with throwaway_database("tokenrevoke_durable") as url:
        yield lambda: Server(
            data_dir, extra_args=["--database-url", url], env={"TOKENREVOKE_MASTER_KEY": key}
        )


def test_revocations_answered_200_survive_kill_9(make_server: Callable[[], Server]) -> None:
    seed = int(os.environ.get("TOKENREVOKE_DURABILITY_SEED") or secrets.randbits(32))
    moments = kill_moments(seed)
    rng = random.Random(seed)
    started = time.monotonic()
    server = make_server().start()
    servers = [server]
    try:
        client = server.create_client(
            "--access-token-lifetime", "3600",
            grant_types=["client_credentials", "password", "refresh_token"],
        )  # fmt: skip
        server.cli(
            "user", "create", "--username", USERNAME, "--password", PASSWORD, *database_args(server)
        )
        plain = [b["access_token"] for b in issue(server, client, PER_ROUND * ROUNDS + NEVER_SENT)]
        grants = issue(
            server,
            client,
            GRANTS_PER_ROUND * (ROUNDS + 1),
            grant_type="password",
            username=USERNAME,
            password=PASSWORD,
        )
        # What revoking each token must take with it: itself, or its whole grant.
        family = {t: [t] for t in plain}
        family |= {g["refresh_token"]: [g["refresh_token"], g["access_token"]] for g in grants}
        refresh = [g["refresh_token"] for g in grants]
        rounds = []
        for i in range(ROUNDS):
            batch = plain[i * PER_ROUND : (i + 1) * PER_ROUND]
            cascade = refresh[i * GRANTS_PER_ROUND : (i + 1) * GRANTS_PER_ROUND]
            for token in cascade:  # anywhere in the storm: revoked, unanswered or not sent
                batch.insert(rng.randrange(len(batch) // 2), token)
            rounds.append(batch)
        never_sent = plain[PER_ROUND * ROUNDS :] + refresh[GRANTS_PER_ROUND * ROUNDS :]
        must_be_revoked: set[str] = set()
        must_be_active: set[str] = {t for root in never_sent for t in family[root]}
        report = []
        restarts = []
        for batch, kill_after in zip(rounds, moments, strict=True):
            storm = Storm(server, client, batch)
            killed_at = storm.run(kill_after)
            assert server.process is not None and server.process.returncode == -9
            assert storm.count(Outcome.REFUSED) == 0, {
                t: o for t, o in storm.outcomes.items() if o is Outcome.REFUSED
            }
            revoked = {t for t, o in storm.outcomes.items() if o is Outcome.REVOKED}
            not_sent = {t for t, o in storm.outcomes.items() if o is Outcome.NOT_SENT}
            unknown = storm.count(Outcome.UNKNOWN)
            report.append((kill_after, len(revoked), unknown, len(not_sent), round(killed_at, 3)))
            # The kill really came in the middle of the storm.
            assert len(revoked) >= kill_after
            assert len(revoked) < len(batch), f"the storm ended before the kill (seed {seed})"
            earlier = sorted(must_be_revoked | must_be_active)
            now_revoked = {t for root in revoked for t in family[root]}
            now_active = {t for root in not_sent for t in family[root]}
            must_be_revoked |= now_revoked
            must_be_active |= now_active

            restart = time.monotonic()
            server = make_server().start()  # the same store, a new process
            restarts.append(time.monotonic() - restart)
            servers.append(server)
            sample = rng.sample(earlier, min(RECHECK_SAMPLE, len(earlier)))
            check(server, now_revoked | now_active | set(sample), must_be_revoked, seed, report)
        # Every token of every round, after the last crash.
        check(server, must_be_revoked | must_be_active, must_be_revoked, seed, report)
        print(
            f"seed {seed}; {ROUNDS} rounds in {time.monotonic() - started:.1f} s, restart "
            f"{sum(restarts) / len(restarts):.2f} s on average; rounds (kill after, 200s, "
            f"unanswered, not sent, kill at s): {report}"
        )
        # The cascade was part of it: some grants were revoked, some never touched.
        assert any(g["access_token"] in must_be_revoked for g in grants)
        assert any(g["access_token"] in must_be_active for g in grants)
        # The restarted server works normally.
        fresh = issue(server, client, 1)[0]["access_token"]
        assert server.revoke(client, token=fresh).status_code == 200
        assert server.active(fresh) is False
    finally:
        for srv in servers:
            srv.kill()


def check(
    server: Server, tokens: set[str], must_be_revoked: set[str], seed: int, report: list[Any]
) -> None:
    """Every token of `must_be_revoked` among `tokens` is inactive; every other is active."""
    state = active_states(server, sorted(tokens))
    lost = sorted(t for t in tokens & must_be_revoked if state[t])
    spurious = sorted(t for t in tokens - must_be_revoked if not state[t])
    assert lost == [], f"{len(lost)} revocations answered 200 were lost (seed {seed}): {report}"
    assert spurious == [], (
        f"{len(spurious)} tokens revoked without a request (seed {seed}): {report}"
    )
