"""The admin CLI over HTTP, through a real server: every group's main commands (tables and
--json), profiles, the start-time properties file, clear errors, and a 10,000-token bulk
revocation with a progress bar."""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.server import (
    ADMIN_ID,
    ADMIN_SECRET,
    AUTH,
    Server,
    admin_cli,
    cli,
    free_port,
    run_cli,
)
from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.model.config import IMPLEMENTED_FLAGS
from tokenrevoke.model.scope_ids import CONFIG
from tokenrevoke.store import open_store
from tokenrevoke.store.factory import sqlite_url

ALLOW = """
class RevokeToken:
    def __init__(self, current_time_millis):
        pass

    def init(self, custom_script, configuration_attributes):
        return True

    def destroy(self, configuration_attributes):
        return True

    def getApiVersion(self):
        return 11

    def revoke(self, context):
        return True
"""
BULK = 10_000


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """A clean failure: exit code 1, one `error:` line, no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    return " ".join(result.stderr.split())  # unwrapped, whatever the console width


def as_json(result: subprocess.CompletedProcess[str]) -> object:
    return json.loads(ok(result))


@pytest.fixture(scope="module")
def srv(server: Server) -> Server:
    return server


# -- clients and scopes -------------------------------------------------------------------
def test_client_create_list_show_disable_delete(srv: Server) -> None:
    out = ok(srv.admin("client", "create", "--name", "cli-table", "--client-id", "cli-table-1"))
    assert "client id:     cli-table-1" in out
    secret = re.search(r"client secret: (\S+)", out)
    assert secret is not None and "shown only this once" in out

    created = srv.create_client(
        "--access-token-lifetime", "120", "--authorized-origin", "https://app.example",
        name="cli-json", grant_types=["client_credentials"], scopes=["openid"],
    )  # fmt: skip
    assert created.data["clientName"] == "cli-json"
    assert created.data["accessTokenLifetime"] == 120
    assert created.data["authorizedOrigins"] == ["https://app.example"]

    listed = as_json(srv.admin("client", "list", "--json"))
    assert isinstance(listed, list)
    assert {"cli-table-1", created.client_id, ADMIN_ID} <= {c["inum"] for c in listed}
    assert all("clientSecret" not in c for c in listed)
    table = ok(srv.admin("client", "list", "--pattern", "cli-table"))
    assert "cli-table-1" in table and created.client_id not in table

    shown = as_json(srv.admin("client", "show", created.client_id, "--json"))
    # As the server answers (scopes by DN, as Janssen's); the table shows their ids.
    assert isinstance(shown, dict) and len(shown["scopes"]) == 1
    openid_dn = shown["scopes"][0]
    assert openid_dn.startswith("inum=") and openid_dn.endswith(",ou=scopes,o=jans")
    table = ok(srv.admin("client", "show", created.client_id))
    assert "tokenEndpointAuthMethod" in table and "openid" in table and openid_dn not in table
    by_dn = srv.create_client(name="cli-dn", scopes=[openid_dn])
    assert by_dn.data["scopes"] == [openid_dn]

    token = srv.fetch_token(created)["access_token"]
    assert "disabled" in ok(srv.admin("client", "disable", created.client_id))
    form = {"grant_type": "client_credentials"}
    assert srv.session.post(f"{AUTH}/token", data=form, auth=created.basic).status_code == 401
    ok(srv.admin("client", "enable", created.client_id))
    assert srv.session.post(f"{AUTH}/token", data=form, auth=created.basic).status_code == 200

    assert "its tokens are revoked" in ok(srv.admin("client", "delete", created.client_id))
    assert not srv.is_active(token)
    message = failed(srv.admin("client", "show", created.client_id, check=False))
    assert f"no client {created.client_id}" in message and "404" in message


def test_client_create_refused_by_the_server(srv: Server) -> None:
    message = failed(srv.admin("client", "create", "--grant-type", "magic", check=False))
    assert "grantTypes[0] must be one of" in message and "(HTTP 400)" in message


def test_scope_create_list_delete(srv: Server) -> None:
    created = as_json(
        srv.admin("scope", "create", "--id", "cli-reports", "--description", "CLI test", "--json")
    )
    assert isinstance(created, dict) and created["id"] == "cli-reports"
    table = ok(srv.admin("scope", "list", "--pattern", "cli-reports"))
    assert "cli-reports" in table and "CLI test" in table
    openid = as_json(srv.admin("scope", "list", "--type", "openid", "--json"))
    assert isinstance(openid, list) and [s["id"] for s in openid] == ["openid"]
    assert "deleted scope cli-reports" in ok(srv.admin("scope", "delete", "cli-reports"))
    listed = as_json(srv.admin("scope", "list", "--json"))
    assert isinstance(listed, list) and "cli-reports" not in [s["id"] for s in listed]
    gone = srv.admin("scope", "delete", "cli-reports", check=False)
    assert "no scope 'cli-reports'" in failed(gone)


# -- properties and feature flags ---------------------------------------------------------
def test_config_get_set_patch(srv: Server, tmp_path: Path) -> None:
    table = ok(srv.admin("config", "get"))
    assert "accessTokenLifetime" in table and "300" in table
    everything = as_json(srv.admin("config", "get", "--json"))
    assert isinstance(everything, dict) and everything["accessTokenLifetime"] == 300
    try:
        assert "accessTokenLifetime = 450" in ok(
            srv.admin("config", "set", "accessTokenLifetime", "450")
        )
        assert as_json(srv.admin("config", "get", "accessTokenLifetime")) == 450
        ok(srv.admin("config", "set", "discoveryDenyKeys", "jwks_uri,scopes_supported"))
        assert as_json(srv.admin("config", "get", "discoveryDenyKeys", "--json")) == [
            "jwks_uri",
            "scopes_supported",
        ]

        patch = tmp_path / "patch.json"
        patch.write_text(json.dumps([
            {"op": "replace", "path": "/accessTokenLifetime", "value": 600},
            {"op": "replace", "path": "/errorReasonEnabled", "value": True},
        ]))  # fmt: skip
        assert "applied 2 operations" in ok(srv.admin("config", "patch", str(patch)))
        from_stdin = srv.admin(
            "config", "patch", "-", "--json",
            input='[{"op": "replace", "path": "/discoveryDenyKeys", "value": []}]',
        )  # fmt: skip
        after = as_json(from_stdin)
        assert isinstance(after, dict)
        assert after["accessTokenLifetime"] == 600 and after["errorReasonEnabled"] is True
        assert after["discoveryDenyKeys"] == []

        bad = failed(srv.admin("config", "set", "accessTokenLifetime", "-5", check=False))
        assert "accessTokenLifetime must be a positive integer" in bad
        assert "unknown property 'noSuchThing'" in failed(
            srv.admin("config", "set", "noSuchThing", "1", check=False)
        )
        assert "JSON Patch" in failed(srv.admin("config", "patch", "-", input="{}", check=False))
        assert as_json(srv.admin("config", "get", "accessTokenLifetime")) == 600  # unchanged
    finally:
        srv.admin(
            "config", "patch", "-",
            input=json.dumps([
                {"op": "remove", "path": "/accessTokenLifetime"},
                {"op": "remove", "path": "/errorReasonEnabled"},
            ]),
        )  # fmt: skip


def test_feature_list_disable_enable(srv: Server) -> None:
    client = srv.create_client(name="cli-flags")
    state = as_json(srv.admin("feature", "list", "--json"))
    assert isinstance(state, dict) and len(state) == 25
    assert state["REVOKE_TOKEN"] == {
        "configured": True, "implemented": True, "enabled": True, "state": "enabled"
    }  # fmt: skip
    try:
        assert "REVOKE_TOKEN disabled" in ok(srv.admin("feature", "disable", "revoke_token"))
        srv.wait_until(lambda: srv.send_revoke(client, token="x").status_code == 403)
        table = ok(srv.admin("feature", "list"))
        assert re.search(r"REVOKE_TOKEN\s+│\s+yes\s+│\s+disabled", table), table
        assert re.search(r"INTROSPECTION\s+│\s+yes\s+│\s+enabled", table), table
    finally:
        ok(srv.admin("feature", "enable", "REVOKE_TOKEN"))
    srv.wait_until(lambda: srv.send_revoke(client, token="x").status_code == 200)
    assert as_json(srv.admin("config", "get", "featureFlags")) == []
    assert "unknown feature flag 'NOPE'" in failed(
        srv.admin("feature", "enable", "NOPE", check=False)
    )


def test_feature_list_marks_the_flags_tokenrevoke_does_not_implement(srv: Server) -> None:
    """With `featureFlags` empty Janssen enables all 25; tokenrevoke implements four, and
    says so: the others are never called enabled."""
    assert as_json(srv.admin("config", "get", "featureFlags")) == []
    table = ok(srv.admin("feature", "list"))
    assert all(len(line) <= 80 for line in table.splitlines()), table  # fits, wraps nothing
    rows = {
        cells[0]: cells[1:]
        for line in table.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 3
    }
    implemented = [f.value for f in IMPLEMENTED_FLAGS]
    for flag in implemented:
        assert rows[flag] == ["yes", "enabled"], table
    for flag in ("CIBA", "UMA", "U2F", "PAR", "SSA", "HEALTH_CHECK"):
        assert rows[flag] == ["no", "no effect (configured on)"], table
    assert sum(1 for v in rows.values() if v[1] == "enabled") == len(implemented)
    assert list(rows)[: len(implemented)] == implemented

    state = as_json(srv.admin("feature", "list", "--json"))
    assert isinstance(state, dict)
    assert [f for f, s in state.items() if s["enabled"]] == sorted(implemented)
    assert state["CIBA"] == {
        "configured": True, "implemented": False, "enabled": False,
        "state": "no effect (configured on)",
    }  # fmt: skip

    try:  # turning one off is stored (a Janssen configuration round-trips), and said so
        said = ok(srv.admin("feature", "disable", "ciba"))
        assert "CIBA configured off" in said and "no effect here" in said
        assert "disabled" not in said
        after = as_json(srv.admin("feature", "list", "--json"))
        assert isinstance(after, dict)
        assert after["CIBA"]["state"] == "no effect (configured off)"
    finally:
        said = ok(srv.admin("feature", "enable", "CIBA"))
        assert "CIBA configured on" in said and "enabled" not in said
    assert as_json(srv.admin("config", "get", "featureFlags")) == []


# -- scripts ------------------------------------------------------------------------------
def test_script_add_list_show_toggle_remove(srv: Server, tmp_path: Path) -> None:
    source = tmp_path / "allow.py"
    source.write_text(ALLOW)
    added = as_json(srv.admin(
        "script", "add", "--name", "cli-allow", "--file", str(source), "--level", "5",
        "--disabled", "--attribute", "mode=audit", "--json",
    ))  # fmt: skip
    assert isinstance(added, dict) and added["enabled"] is False and added["level"] == 5
    assert added["configurationProperties"][0]["value1"] == "mode"
    inum = added["inum"]
    try:
        assert "cli-allow" in ok(srv.admin("script", "list"))
        shown = as_json(srv.admin("script", "show", "cli-allow", "--json"))
        assert isinstance(shown, dict) and shown["inum"] == inum and "def revoke" in shown["script"]
        assert "def revoke" in ok(srv.admin("script", "show", inum))
        assert "script cli-allow enabled" in ok(srv.admin("script", "enable", "cli-allow"))
        listed = as_json(srv.admin("script", "list", "--json"))
        assert isinstance(listed, list)
        assert [s["enabled"] for s in listed if s["name"] == "cli-allow"] == [True]
        assert "disabled" in ok(srv.admin("script", "disable", inum))
    finally:
        assert "removed script cli-allow" in ok(srv.admin("script", "remove", inum))
    assert "no script 'cli-allow'" in failed(srv.admin("script", "show", "cli-allow", check=False))
    assert "expected name=value" in failed(srv.admin(
        "script", "add", "--name", "x-bad", "--file", str(source), "--attribute", "novalue",
        check=False,
    ))  # fmt: skip


# -- tokens -------------------------------------------------------------------------------
def test_token_search_show_revoke(srv: Server) -> None:
    client = srv.create_client(name="cli-tokens")
    tokens = [srv.fetch_token(client)["access_token"] for _ in range(3)]
    found = as_json(srv.admin("token", "search", "--client", client.client_id, "--json"))
    assert isinstance(found, dict) and found["totalEntriesCount"] == 3
    codes = {t["tokenCode"] for t in found["entries"]}
    assert codes == {sha256_hex(t) for t in tokens}
    page = as_json(srv.admin(
        "token", "search", "--client", client.client_id, "--type", "access_token",
        "--limit", "2", "--start", "1", "--json",
    ))  # fmt: skip
    assert isinstance(page, dict) and page["start"] == 1 and page["entriesCount"] == 2
    table = ok(srv.admin("token", "search", "--client", client.client_id, "--limit", "2"))
    assert "2 of 3 tokens; next page: --start 2" in table and "live" in table

    code = sha256_hex(tokens[0])
    by_code = as_json(srv.admin("token", "show", code, "--json"))
    by_token = as_json(srv.admin("token", "show", "--json", "--", tokens[0]))
    assert by_code == by_token
    assert isinstance(by_code, dict) and by_code["clientId"] == client.client_id

    # `--`: a raw token may start with "-" (base64url) and must not read as an option.
    result = srv.admin("token", "revoke", "--", code, tokens[1], "unknown-token", check=False)
    assert result.returncode == 1 and "1 unknown" in result.stderr  # an unknown line fails
    out = result.stdout
    assert re.search(r"^revoked\s+2\b", out, re.M) and re.search(r"unknown\s+1\b", out)
    assert re.search(r"failed\s+0\b", out)
    assert not srv.is_active(tokens[0]) and not srv.is_active(tokens[1])
    assert srv.is_active(tokens[2])
    assert "revoked" in ok(srv.admin("token", "show", code))
    again = as_json(srv.admin("token", "revoke", "--json", "--", tokens[0], tokens[2]))
    assert isinstance(again, dict)
    assert (again["revoked"], again["alreadyRevoked"], again["failed"]) == (1, 1, 0)
    assert "nothing to revoke" in failed(srv.admin("token", "revoke", check=False))


def test_token_search_table_fits_80_columns(srv: Server) -> None:
    """One line per token at 80 columns: the code is cut (whole in --json and `token show`),
    nothing wraps, no line is wider than the terminal."""
    client = srv.create_client(name="cli-narrow", scopes=["openid"])
    tokens = [srv.fetch_token(client, scope="openid")["access_token"] for _ in range(3)]
    codes = [sha256_hex(t) for t in tokens]
    narrow = ok(srv.admin("token", "search", "--client", client.client_id, env={"COLUMNS": "80"}))
    lines = narrow.splitlines()
    assert all(len(line) <= 80 for line in lines), narrow
    header, rule, *rows, summary = lines
    assert header.split()[:2] == ["token", "code"] and set(rule) == {"\u2500"}
    assert summary == "3 of 3 tokens"
    assert sorted(row.split()[0] for row in rows) == sorted(c[:10] + "\u2026" for c in codes)
    assert all(re.search(r"\blive\s*$", row) for row in rows), narrow  # nothing wrapped
    assert not any(code in narrow for code in codes)
    wide = ok(srv.admin("token", "search", "--client", client.client_id, env={"COLUMNS": "130"}))
    assert client.client_id in wide and max(len(line) for line in wide.splitlines()) <= 130


def test_client_list_and_token_show_fit_80_columns(srv: Server) -> None:
    """`client list`: one line per client within the terminal, the id whole (the other
    commands take it); `token show`: `name  value` lines, the code whole on one line."""
    name = "a client name far too long to fit a narrow terminal [with brackets]"
    client = srv.create_client(
        name=name, grant_types=["client_credentials", "password", "refresh_token"]
    )
    narrow = ok(srv.admin("client", "list", env={"COLUMNS": "80"}))
    lines = narrow.splitlines()
    assert all(len(line) <= 80 for line in lines), narrow
    header, rule, *rows = lines
    assert header.split()[:3] == ["client", "id", "name"] and set(rule) == {"\u2500"}
    row = next(r for r in rows if r.startswith(client.client_id + " "))
    assert "a client name" in row and name not in row and re.search(r"\benabled\s*$", row)
    wide = ok(srv.admin("client", "list", env={"COLUMNS": "200"}))
    assert name in wide and "client_secret_basic" in wide  # nothing cut when it fits
    assert max(len(line) for line in wide.splitlines()) <= 200

    token = srv.fetch_token(client)["access_token"]
    shown = ok(srv.admin("token", "show", "--", token, env={"COLUMNS": "80"}))
    parts = (line.partition(" ") for line in shown.splitlines())
    fields = {name: value.strip() for name, _, value in parts}
    assert fields["tokenCode"] == sha256_hex(token) and fields["clientId"] == client.client_id
    assert fields["state"] == "live" and not set(shown) & set("\u2502\u250c\u2500")


# -- connection errors and options ---------------------------------------------------------
def test_wrong_secret_is_a_clear_error(srv: Server) -> None:
    wrong = "wrong-" + ADMIN_SECRET
    result = admin_cli(srv.url, "client", "list", client_secret=wrong, check=False)
    assert "the admin client id or secret is wrong" in failed(result)


def test_unreachable_server_is_a_clear_error() -> None:
    result = admin_cli(f"http://127.0.0.1:{free_port()}", "token", "search", check=False)
    message = failed(result)
    assert "cannot reach http://127.0.0.1:" in message and "Is the server running?" in message


def test_a_token_starting_with_a_dash_is_revoked_after_double_dash(srv: Server) -> None:
    client = srv.create_client(name="cli-dash")
    while True:  # about one token in 64 starts with "-"
        token = srv.fetch_token(client)["access_token"]
        if token.startswith("-"):
            break
    summary = ok(srv.admin("token", "revoke", "--", token))
    assert re.search(r"^revoked\s+1$", summary, re.M), summary
    assert not srv.active(token)


def test_missing_scope_is_a_clear_error(srv: Server) -> None:
    reader = srv.create_client(name="cli-reader", scopes=[CONFIG + "token.readonly"])
    assert reader.secret is not None
    victim = srv.create_client(name="cli-victim")
    token = srv.fetch_token(victim)["access_token"]
    as_reader = {"client_id": reader.client_id, "client_secret": reader.secret}
    search = admin_cli(srv.url, "token", "search", "--client", victim.client_id, "--json",
                       **as_reader)  # fmt: skip
    assert [t["tokenCode"] for t in json.loads(ok(search))["entries"]] == [sha256_hex(token)]
    revoke = admin_cli(srv.url, "token", "revoke", "--", token, check=False, **as_reader)
    assert f"not granted the scope {CONFIG}token.delete" in failed(revoke)
    assert srv.is_active(token)
    clients = admin_cli(srv.url, "client", "list", check=False, **as_reader)
    assert "openid/clients.readonly" in failed(clients)


def test_missing_credentials_and_bad_url() -> None:
    no_credentials = run_cli("client", "list", "--url", "http://127.0.0.1:1", check=False)
    assert "credentials are missing" in failed(no_credentials)
    bad_url = admin_cli("127.0.0.1:8080", "client", "list", check=False)
    assert "--url must start with http:// or https://" in failed(bad_url)


def test_environment_and_profiles(srv: Server, tmp_path: Path) -> None:
    env = {
        "TOKENREVOKE_URL": srv.url,
        "TOKENREVOKE_CLIENT_ID": ADMIN_ID,
        "TOKENREVOKE_CLIENT_SECRET": ADMIN_SECRET,
    }
    assert ADMIN_ID in ok(run_cli("client", "list", env=env))

    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f"""
[default]
url = "{srv.url}"
client_id = "{ADMIN_ID}"
client_secret = "{ADMIN_SECRET}"

[stale]
url = "{srv.url}"
client_id = "{ADMIN_ID}"
client_secret = "old-secret-000000"

[elsewhere]
url = "http://127.0.0.1:{free_port()}"
client_id = "x"
client_secret = "y"
""")
    env = {"TOKENREVOKE_PROFILES": str(profiles)}
    assert ADMIN_ID in ok(run_cli("client", "list", env=env))  # [default]
    stale = run_cli("client", "list", "--profile", "stale", env=env, check=False)
    assert "secret is wrong" in failed(stale)
    # Options and environment win over the profile.
    fixed = run_cli("client", "list", "--profile", "stale", "--client-secret", ADMIN_SECRET,
                    env=env)  # fmt: skip
    assert ADMIN_ID in ok(fixed)
    moved = run_cli("client", "list", "--profile", "elsewhere", env={
        **env, "TOKENREVOKE_URL": srv.url, "TOKENREVOKE_CLIENT_ID": ADMIN_ID,
        "TOKENREVOKE_CLIENT_SECRET": ADMIN_SECRET,
    })  # fmt: skip
    assert ADMIN_ID in ok(moved)
    missing = run_cli("client", "list", "--profile", "nope", env=env, check=False)
    assert "no profile 'nope'" in failed(missing) and "default, elsewhere, stale" in failed(missing)
    profiles.write_text('[default]\nurl = "http://x"\npassword = "y"\n')
    assert "unknown keys ['password']" in failed(run_cli("client", "list", env=env, check=False))


def test_tui_command_takes_the_connection_options() -> None:
    out = ok(run_cli("tui", "--help"))
    for option in ("--url", "--client-id", "--client-secret", "--ca-cert", "--insecure"):
        assert option in out


# -- properties at start ----------------------------------------------------------------
def test_init_and_serve_apply_a_properties_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    result = cli(data, "init", "--properties", str(bad_json), check=False)
    assert "is not valid JSON" in failed(result)
    bad_value = tmp_path / "bad-value.json"
    bad_value.write_text(json.dumps({"accessTokenLifetime": "soon"}))
    message = failed(cli(data, "serve", "--properties", str(bad_value), check=False))
    assert "accessTokenLifetime must be a positive integer" in message
    not_object = tmp_path / "list.json"
    not_object.write_text("[]")
    result = cli(data, "init", "--properties", str(not_object), check=False)
    assert "must hold a JSON object" in failed(result)

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"accessTokenLifetime": 90, "featureFlags": ["INTROSPECTION"]}))
    out = ok(cli(data, "init", "--properties", str(good), "--admin-client-id", ADMIN_ID,
                 "--admin-client-secret", ADMIN_SECRET))  # fmt: skip
    assert "applied 2 properties: accessTokenLifetime, featureFlags" in out
    srv = Server(data).start()
    try:
        assert as_json(srv.admin("config", "get", "accessTokenLifetime")) == 90
        assert as_json(srv.admin("config", "get", "featureFlags")) == ["INTROSPECTION"]
    finally:
        srv.stop()


# -- 10,000 tokens from a file --------------------------------------------------------------
def insert_tokens(data_dir: Path, client_id: str, count: int) -> list[str]:
    """Opaque access tokens written straight into the server's SQLite store (as the token
    endpoint would: the row keyed by the token's SHA-256), which takes a second where
    issuing them over HTTP takes ten. The server never caches token liveness."""
    now = int(time.time())
    raw = [secrets.token_urlsafe(32) for _ in range(count)]
    records = [
        TokenRecord(
            code=sha256_hex(token),
            grant_id=new_id(),
            client_id=client_id,
            token_type=TokenType.ACCESS_TOKEN,
            grant_type="client_credentials",
            created_at=now,
            expires_at=now + 3600,
        )
        for token in raw
    ]

    async def write() -> None:
        store = await open_store(sqlite_url(data_dir))
        try:
            await store.insert_tokens(records)
        finally:
            await store.close()

    asyncio.run(write())
    return raw


@pytest.mark.slow
def test_revoke_ten_thousand_tokens_from_a_file(srv: Server, tmp_path: Path) -> None:
    client = srv.create_client(name="cli-bulk")
    tokens = insert_tokens(srv.data_dir, client.client_id, BULK)
    bystander = srv.fetch_token(client)["access_token"]
    sample = random.Random(7).sample(tokens, 20)
    assert all(srv.is_active(t) for t in sample)

    # Half as raw tokens, half as hashed codes; plus a comment, blank lines and 5 unknown.
    lines = [t if i % 2 else sha256_hex(t) for i, t in enumerate(tokens)]
    unknown = ["no-such-token-1", "no-such-token-2", "no-such-token-3",
               sha256_hex("never issued"), "0" * 64]  # fmt: skip
    lines[5000:5000] = unknown
    path = tmp_path / "tokens.txt"
    path.write_text("# leaked on 2024-05-01\n\n" + "\n".join(lines) + "\n\n   \n")

    started = time.monotonic()
    result = srv.admin("token", "revoke", "--from-file", str(path), "--progress",
                       "--allow-unknown", timeout=120)  # fmt: skip
    elapsed = time.monotonic() - started
    out = ok(result)
    print(f"\nrevoked {BULK} tokens from a file in {elapsed:.1f} s (CLI wall time)\n{out}")

    assert re.search(rf"^revoked\s+{BULK}\n", out, re.M), out
    assert re.search(r"unknown\s+5\n", out), out
    assert re.search(r"failed\s+0\n", out), out
    assert f"{BULK + 5} tokens in" in out
    # The bar was drawn (forced: stderr is a pipe here) and reached the end.
    assert "revoking" in result.stderr and "━" in result.stderr
    assert f"{BULK + 5}/{BULK + 5}" in result.stderr
    assert not any(srv.is_active(t) for t in sample)
    assert srv.is_active(bystander)  # nothing but the listed tokens
