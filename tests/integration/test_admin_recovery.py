"""A lost admin secret: `tokenrevoke admin reset-secret` where the data is prints a new one
once and says so; the old one stops working, with the config-API tokens issued with it.
`init` says what it did: created, kept, replaced, or added a second admin."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Server, admin_cli, cli
from tokenrevoke.model.scope_ids import CONFIG
from tokenrevoke.runtime import REFRESH_SECONDS


def secret_in(text: str) -> str:
    found = re.search(r"client secret: (\S+)", text)
    assert found is not None, text
    return found.group(1)


def test_init_says_what_it_did(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = cli(data, "init")
    assert "Created the admin client" in first.stdout and "shown only this once" in first.stdout
    secret_in(first.stdout)
    again = cli(data, "init")
    assert "exists; its secret is unchanged" in again.stdout
    assert "admin reset-secret" in again.stdout
    assert "client secret" not in again.stdout

    named = cli(data, "init", "--admin-client-id", ADMIN_ID, "--admin-client-secret", ADMIN_SECRET)
    assert "Created the admin client" in named.stdout
    assert "additional admin client" in named.stdout  # not silently a second admin
    replaced = cli(data, "init", "--admin-client-id", ADMIN_ID,
                   "--admin-client-secret", "another-secret-0123456789")  # fmt: skip
    assert f"Replaced the secret of the admin client {ADMIN_ID}" in replaced.stdout


def test_reset_secret_recovers_the_admin(fresh_server: Server) -> None:
    srv = fresh_server
    old = srv.http().post(f"{AUTH}/token", auth=(ADMIN_ID, ADMIN_SECRET),
                          data={"grant_type": "client_credentials",
                                "scope": CONFIG + "openid/clients.readonly"})  # fmt: skip
    assert old.status_code == 200, old.text
    old_token = old.json()["access_token"]

    result = cli(srv.data_dir, "admin", "reset-secret")
    assert "Shown only this once" in result.stdout and "old secret no longer works" in result.stdout
    new = secret_in(result.stdout)

    # The running server sees a change made where the data is at its next poll of the
    # store (runtime.REFRESH_SECONDS, half a second), not at once: under load that can come
    # after the next CLI process has already asked for a token.
    deadline = time.monotonic() + 10 * REFRESH_SECONDS
    while "wrong" not in (refused := admin_cli(srv.url, "client", "list", check=False)).stderr:
        assert time.monotonic() < deadline, refused
        time.sleep(REFRESH_SECONDS)
    assert admin_cli(srv.url, "client", "list", client_secret=new).returncode == 0
    with httpx.Client(base_url=srv.url) as http:
        listed = http.get("/jans-config-api/api/v1/openid/clients",
                          headers={"Authorization": f"Bearer {old_token}"})  # fmt: skip
    assert listed.status_code == 401  # the token issued with the old secret is revoked


def test_reset_secret_with_several_admins_needs_the_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "init")
    cli(data, "init", "--admin-client-id", ADMIN_ID, "--admin-client-secret", ADMIN_SECRET)
    result = cli(data, "admin", "reset-secret", check=False)
    assert result.returncode == 1 and "several admin clients" in result.stderr
    assert "Traceback" not in result.stderr
    chosen = cli(data, "admin", "reset-secret", "--admin-client-id", ADMIN_ID)
    assert f"admin client {ADMIN_ID}" in chosen.stdout
    assert secret_in(chosen.stdout) != ADMIN_SECRET
