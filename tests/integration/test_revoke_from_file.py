"""`token revoke --from-file` tells the truth: revoked, already revoked, expired, unknown
and failed counted apart, duplicates counted, a non-zero exit when a line was unknown or
failed (unless --allow-unknown for the unknown), and the JSON of `token search --json`
read as well as one token per line. Through the real CLI against a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import Server, admin_cli
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model.scope_ids import CONFIG


@pytest.fixture(scope="module")
def srv(server: Server) -> Server:
    return server


def revoke_json(srv: Server, *args: str, code: int) -> dict[str, Any]:
    result = srv.admin("token", "revoke", "--json", *args, check=False)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_every_outcome_counted_apart(srv: Server, tmp_path: Path) -> None:
    client = srv.create_client(name="from-file-kinds")
    live = [srv.fetch_token(client)["access_token"] for _ in range(3)]
    gone = srv.fetch_token(client)["access_token"]
    srv.admin("token", "revoke", "--", gone)
    short = srv.create_client("--access-token-lifetime", "1", name="from-file-short")
    expired = srv.fetch_token(short)["access_token"]
    while srv.is_active(expired):
        time.sleep(0.2)
    path = tmp_path / "leaked.txt"
    path.write_text("\n".join([
        "# leaked on Monday", live[0], sha256_hex(live[1]), live[2], live[2],  # a duplicate
        "", gone, expired, "no-such-token", "0" * 64,
    ]) + "\n")  # fmt: skip

    summary = revoke_json(srv, "--from-file", str(path), code=1)
    names = ("revoked", "alreadyRevoked", "expired", "unknown", "failed", "duplicates")
    assert [summary[n] for n in names] == [3, 1, 1, 2, 0, 1]
    assert sorted(summary["unknownTokens"]) == sorted(["0" * 64, "no-such-\u2026"])
    assert not any(srv.is_active(t) for t in live)

    # The table says the same, and why the exit status is 1.
    result = srv.admin("token", "revoke", "--from-file", str(path), check=False)
    assert result.returncode == 1
    assert "2 unknown" in result.stderr and "--allow-unknown" in result.stderr
    for name, count in (("revoked", 0), ("already revoked", 4), ("expired", 1),
                        ("unknown", 2), ("failed", 0)):  # fmt: skip
        assert f"{name} " in result.stdout
        line = next(x for x in result.stdout.splitlines() if x.startswith(name + " "))
        assert line.split()[-1] == str(count), result.stdout
    assert "1 duplicate lines sent once" in result.stdout

    relaxed = revoke_json(srv, "--from-file", str(path), "--allow-unknown", code=0)
    assert relaxed["unknown"] == 2


def test_reads_the_json_of_token_search(srv: Server, tmp_path: Path) -> None:
    client = srv.create_client(name="from-file-json")
    tokens = [srv.fetch_token(client)["access_token"] for _ in range(5)]
    found = srv.admin("token", "search", "--client", client.client_id, "--json")
    path = tmp_path / "found.json"
    path.write_text(found.stdout)

    summary = revoke_json(srv, "--from-file", str(path), code=0)
    assert (summary["revoked"], summary["unknown"], summary["failed"]) == (5, 0, 0)
    assert not any(srv.is_active(t) for t in tokens)
    again = revoke_json(srv, "--from-file", str(path), code=0)
    assert (again["revoked"], again["alreadyRevoked"], again["unknown"]) == (0, 5, 0)

    # From stdin too.
    piped = srv.admin("token", "revoke", "--json", "--from-file", "-", input=found.stdout)
    assert json.loads(piped.stdout)["alreadyRevoked"] == 5

    broken = tmp_path / "broken.json"
    broken.write_text('{"entries": [')
    result = srv.admin("token", "revoke", "--from-file", str(broken), check=False)
    assert result.returncode == 1 and "is not JSON" in result.stderr


def test_a_failed_lookup_is_a_failure(srv: Server) -> None:
    """A revoker without token.readonly cannot learn why a token was not live: each such
    line is reported as failed, with the reason, and the exit status is 1."""
    revoker = srv.create_client(name="from-file-revoker", scopes=[CONFIG + "token.delete"])
    assert revoker.secret is not None
    victim = srv.create_client(name="from-file-victim")
    token = srv.fetch_token(victim)["access_token"]
    result = admin_cli(srv.url, "token", "revoke", "--json", "--", token, "no-such-token",
                       client_id=revoker.client_id, client_secret=revoker.secret,
                       check=False)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert (summary["revoked"], summary["failed"]) == (1, 1)
    assert summary["failures"][0]["token"] == "no-such-\u2026"
