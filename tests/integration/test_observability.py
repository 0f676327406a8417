"""Throttling of failed client authentication, /metrics and JSON logs, through real servers."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Server, cli

WINDOW = 2  # seconds: short, so that recovery can be waited for
PER_CLIENT = 3
PER_ADDRESS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Small limits; loopback is a trusted proxy, so each test can act from its own
    address with X-Forwarded-For (and the tests do not share address counts)."""
    srv = Server(tmp_path_factory.mktemp("throttle") / "data",
                 extra_args=["--trusted-proxy", "127.0.0.1"])  # fmt: skip
    srv.configure({
        "clientAuthFailureLimitPerClient": PER_CLIENT,
        "clientAuthFailureLimitPerAddress": PER_ADDRESS,
        "clientAuthFailureWindowSeconds": WINDOW,
    }).start()  # fmt: skip
    try:
        yield srv
    finally:
        srv.stop()


def token_request(server: Server, client_id: str, secret: str, address: str) -> httpx.Response:
    return server.session.post(f"{AUTH}/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret),
                               headers={"X-Forwarded-For": address})  # fmt: skip


def assert_throttled(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_description"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW
    return retry_after


# -- throttling -------------------------------------------------------------------------
def test_bad_secrets_lock_the_client_out_until_the_window_passes(server: Server) -> None:
    victim, bystander = server.create_client(), server.create_client()
    address = "198.51.100.1"
    for _ in range(PER_CLIENT):
        assert token_request(server, victim.client_id, "wrong", address).status_code == 401
    # Locked out from that address: even the right secret gets 429, at every endpoint that
    # authenticates.
    retry_after = assert_throttled(token_request(server, *victim.basic, address))
    relayed = {"X-Forwarded-For": address}
    assert_throttled(server.session.post(f"{AUTH}/revoke", data={"token": "x"},
                                         auth=victim.basic, headers=relayed))  # fmt: skip
    assert_throttled(server.session.post(f"{AUTH}/introspection", data={"token": "x"},
                                         auth=victim.basic, headers=relayed))  # fmt: skip
    # Another client, from the same address, is not affected; nor the victim elsewhere.
    assert token_request(server, *bystander.basic, address).status_code == 200
    assert token_request(server, *victim.basic, "198.51.100.99").status_code == 200
    time.sleep(retry_after + 0.2)
    assert token_request(server, *victim.basic, address).status_code == 200


def test_failures_from_one_address_lock_that_address_out(server: Server) -> None:
    good = server.create_client()
    attacker, elsewhere = "198.51.100.2", "198.51.100.3"
    for i in range(PER_ADDRESS):  # a new client id each time: the per-client limit never trips
        assert token_request(server, f"guess-{i}", "wrong", attacker).status_code == 401
    assert_throttled(token_request(server, *good.basic, attacker))
    assert token_request(server, *good.basic, elsewhere).status_code == 200


def test_throttling_can_be_turned_off_without_restart(server: Server) -> None:
    client = server.create_client()
    server.set_config("clientAuthFailureLimitPerClient", 0)
    try:
        for _ in range(PER_CLIENT + 2):
            response = token_request(server, client.client_id, "wrong", "198.51.100.4")
            assert response.status_code == 401
    finally:
        server.set_config("clientAuthFailureLimitPerClient", PER_CLIENT)
    assert token_request(server, *client.basic, "198.51.100.4").status_code == 200


def test_invalid_limits_are_refused(server: Server) -> None:
    result = server.cli("config", "set", "clientAuthFailureWindowSeconds", "0", check=False)
    assert result.returncode != 0
    assert "clientAuthFailureWindowSeconds" in result.stdout + result.stderr


# -- metrics ----------------------------------------------------------------------------
def test_metrics_count_real_requests(server: Server) -> None:
    client = server.create_client()
    revoke = {"endpoint": f"{AUTH}/revoke", "method": "POST", "status": "200"}
    names = {
        "requests": ("tokenrevoke_http_requests_total", revoke),
        "latency": ("tokenrevoke_http_request_duration_seconds_count", revoke),
        "revoked": ("tokenrevoke_revocations_total",
                    {"path": "revoke_endpoint", "outcome": "revoked"}),
        "no_match": ("tokenrevoke_revocations_total",
                     {"path": "revoke_endpoint", "outcome": "no_match"}),
        "tokens": ("tokenrevoke_revoked_tokens_total", {"path": "revoke_endpoint"}),
        "config_api": ("tokenrevoke_revocations_total",
                       {"path": "config_api", "outcome": "revoked"}),
        "failures": ("tokenrevoke_client_auth_failures_total", {}),
        "lockouts": ("tokenrevoke_client_auth_lockouts_total", {"scope": "client"}),
        "throttled": ("tokenrevoke_client_auth_throttled_total", {"scope": "client"}),
    }  # fmt: skip

    def snapshot() -> dict[str, float]:
        return {key: server.metric(name, **labels) for key, (name, labels) in names.items()}

    before = snapshot()
    assert server.send_revoke(client, token=server.fetch_token(client)["access_token"]).is_success
    assert server.send_revoke(client, token="no-such-token").is_success
    server.cli("token", "revoke", "--", server.fetch_token(client)["access_token"])
    for _ in range(PER_CLIENT):
        token_request(server, client.client_id, "wrong", "198.51.100.5")
    assert_throttled(token_request(server, *client.basic, "198.51.100.5"))
    after = snapshot()
    assert {key: after[key] - before[key] for key in names} == {
        "requests": 2, "latency": 2, "revoked": 1, "no_match": 1, "tokens": 1,
        "config_api": 1, "failures": PER_CLIENT, "lockouts": 1, "throttled": 1,
    }  # fmt: skip
    latency = server.metric("tokenrevoke_http_request_duration_seconds_sum", **revoke)
    assert 0 < latency < 60
    # Series exist before their first event, so alerts on rate() work from the start.
    assert ("tokenrevoke_store_unavailable_total", {"component": "auth_server"}, 0.0) in (
        server.metrics()
    )


def test_metrics_refuse_a_request_relayed_for_someone_else(server: Server) -> None:
    response = server.session.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


# -- a server that trusts no proxy, with JSON logs -------------------------------------
@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("jsonlogs") / "data",
                 extra_args=["--log-format", "json", "--access-log",
                             "--metrics-allow", "192.0.2.0/24"])  # fmt: skip
    srv.configure({"clientAuthFailureLimitPerClient": 2, "clientAuthFailureLimitPerAddress": 4,
                   "clientAuthFailureWindowSeconds": WINDOW}).start()  # fmt: skip
    try:
        yield srv
    finally:
        srv.stop()


def log_records(server: Server) -> list[dict[str, Any]]:
    """Every log line (stderr) as JSON. `serve`'s one-time set-up report goes to stdout
    before logging starts (the harness captures both in one file)."""
    records, other = [], []
    for line in server.log().splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            other.append(line)
    banner = ("Created the admin client", "  client id:", "applied ")
    assert all(line.startswith(banner) for line in other), other
    return records


def test_forwarded_for_from_an_untrusted_peer_does_not_evade_the_address_limit(
    json_server: Server,
) -> None:
    good = json_server.create_client()
    for i in range(4):  # each claims another address; the peer is what counts
        response = json_server.session.post(
            f"{AUTH}/token", data={"grant_type": "client_credentials"},
            auth=(f"spoof-{i}", "wrong"), headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )  # fmt: skip
        assert response.status_code == 401
    locked = json_server.session.post(f"{AUTH}/token", data={"grant_type": "client_credentials"},
                                      auth=good.basic,
                                      headers={"X-Forwarded-For": "203.0.113.200"})  # fmt: skip
    time.sleep(assert_throttled(locked) + 0.2)  # later tests need this address again
    assert json_server.fetch_token(good)["access_token"]


def test_metrics_only_for_the_allowed_network(json_server: Server) -> None:
    response = json_server.session.get("/metrics")  # loopback is not in 192.0.2.0/24
    assert response.status_code == 403
    assert response.headers["cache-control"] == "no-store"


def test_json_logs_carry_the_echoed_request_id_and_no_secret(json_server: Server) -> None:
    server = json_server
    client = server.create_client()
    assert client.secret
    sent = "obs-test-0001"
    response = server.session.post(f"{AUTH}/token", data={"grant_type": "client_credentials"},
                                   auth=client.basic, headers={"X-Request-Id": sent})  # fmt: skip
    assert response.status_code == 200 and response.headers["x-request-id"] == sent
    access_token = response.json()["access_token"]
    generated = server.session.get(f"{AUTH}/introspection", params={"token": access_token},
                                   auth=(ADMIN_ID, ADMIN_SECRET))  # fmt: skip
    assert generated.status_code == 200 and generated.json()["active"]
    generated_id = generated.headers["x-request-id"]
    assert re.fullmatch("[0-9a-f]{32}", generated_id)
    insane = server.session.get("/health/live", headers={"X-Request-Id": "no spaces\tallowed"})
    assert re.fullmatch("[0-9a-f]{32}", insane.headers["x-request-id"])
    # A raw token in the config API's path, a lockout logged from oauth/ (two bad secrets).
    other_token = server.fetch_token(client)["access_token"]
    server.cli("token", "revoke", "--", other_token)
    for _ in range(2):
        bad = server.session.post(f"{AUTH}/token", data={"grant_type": "client_credentials"},
                                  auth=(client.client_id, "wrong"))  # fmt: skip
    lockout_request = bad.headers["x-request-id"]
    time.sleep(0.3)  # the log is written as the response goes out; let it reach the file

    records = log_records(server)
    assert {"time", "level", "logger", "message", "request_id"} <= set(records[-1])
    access = {r["request_id"]: r for r in records if r["logger"] == "tokenrevoke.access"}
    first = access[sent]
    assert (first["method"], first["path"], first["status"]) == ("POST", f"{AUTH}/token", 200)
    assert first["duration_ms"] > 0 and first["level"] == "INFO"
    assert access[generated_id]["path"] == f"{AUTH}/introspection"  # no query string
    revoke_paths = [r["path"] for r in access.values() if "/token/revoke/" in r["path"]]
    assert revoke_paths == ["/jans-config-api/api/v1/token/revoke/{tknCde}"]
    lockout_message = f"client id {client.client_id!r} locked out"
    lockout = [r for r in records if r["logger"] == "tokenrevoke.auth.throttle"
               and r["message"].startswith(lockout_message)]  # fmt: skip
    assert [r["request_id"] for r in lockout] == [lockout_request]
    assert lockout[0]["level"] == "WARNING"

    log = server.log()
    secrets = {"access token": access_token, "revoked token": other_token,
               "client secret": client.secret, "admin secret": ADMIN_SECRET}  # fmt: skip
    assert [name for name, raw in secrets.items() if raw in log] == []
    assert "authorization" not in log.lower() and "Basic " not in log


def test_text_logs_stay_the_default(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data").start()
    try:
        response = srv.session.get("/health/live", headers={"X-Request-Id": "text-0001"})
        assert response.headers["x-request-id"] == "text-0001"
        assert srv.session.get("/metrics").status_code == 200  # loopback by default
    finally:
        srv.stop()
    lines = srv.log().splitlines()
    assert any("uvicorn.error [-] Application startup complete" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


FORGED_AT = "2026-12-06 21:00:00,000"
# Paths a client chooses, with what could end or rewrite a log line: LF, CR, NEL, the
# Unicode line separator, an escape sequence (segments under 33 characters: longer ones
# are elided from the access log anyway).
FORGING_PATHS = [
    "/x%0A2026-12-06%2021:00:00,000/CRITICAL%20forged/FORGED-LF",
    "/x%0D2026-12-06%2021:00:00,000/CRITICAL%20forged/FORGED-CR",
    "/x%C2%852026-12-06%2021:00:00,000/CRITICAL/FORGED-NEL",
    "/x%E2%80%A82026-12-06%2021:00:00,000/CRITICAL/FORGED-LS",
    "/x%1B%5B2K%1B%5B1G2026-12-06/CRITICAL/FORGED-ESC",
]


def raw_get(server: Server, path: str) -> bytes:
    """A GET of exactly this path (no client library re-encodes it)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_control_characters_cannot_forge_a_text_log_line(tmp_path: Path) -> None:
    """S17: a path with a newline and a time stamp once wrote a fake record to the text
    log. Control characters are escaped: each request stays one access-log line."""
    srv = Server(tmp_path / "data", extra_args=["--access-log"]).start()
    try:
        for path in FORGING_PATHS:
            assert raw_get(srv, path).startswith(b"HTTP/1.1 404 ")
    finally:
        srv.stop()
    log = srv.log()
    lines = [line for line in re.split(r"\r\n|[\r\n\x85\u2028\u2029]", log) if line]
    forged = [line for line in lines if "FORGED" in line]
    assert len(forged) == len(FORGING_PATHS), forged
    for line in forged:
        assert " INFO tokenrevoke.access " in line and " GET /x\\" in line, line
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line), line
    assert not any(line.startswith(FORGED_AT) for line in lines)
    assert "\x1b" not in log and "GET /x\\x0a2026-12-06 21:00:00,000/CRITICAL forged" in log


def test_metrics_add_up_every_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Created first: two workers opening a brand-new store race to create its scopes.
    cli(data, "init", "--admin-client-id", ADMIN_ID, "--admin-client-secret", ADMIN_SECRET)
    srv = Server(data, extra_args=["--workers", "2"]).start()
    live = {"endpoint": "/health/live", "method": "GET", "status": "200"}
    try:
        time.sleep(1.0)  # the readiness checks' counts are handed over (see below)
        before = srv.metric("tokenrevoke_http_requests_total", **live)
        for _ in range(40):  # new connections, so both workers take some
            with srv.http() as http:
                assert http.get("/health/live").status_code == 200
        # Whichever worker serves /metrics, it reports both workers' requests: its own at
        # once, the other's within the half second a worker keeps its counts to itself.
        time.sleep(1.0)
        counts = {srv.metric("tokenrevoke_http_requests_total", **live) for _ in range(6)}
        assert counts == {before + 40}
        # The multi-process collector answers (it has no per-process `process_*` metrics).
        assert not [name for name, _, _ in srv.metrics() if name.startswith("process_")]
    finally:
        srv.stop()


def test_settings_file_keys(tmp_path: Path) -> None:
    config = tmp_path / "tokenrevoke.toml"
    config.write_text('log_format = "json"\naccess_log = true\nmetrics_allow = []\n')
    srv = Server(tmp_path / "data", extra_args=["--config", str(config)]).start()
    try:
        assert srv.session.get("/metrics").status_code == 403  # nobody may read them
        request_id = srv.session.get("/health/live").headers["x-request-id"]
        time.sleep(0.2)
        assert any(r.get("request_id") == request_id for r in log_records(srv))
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-format", "xml"], "--log-format must be one of text, json"),
        (["--metrics-allow", "everyone"], "--metrics-allow 'everyone' is not an address"),
    ],
)
def test_bad_observability_options_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli(tmp_path / "data", "serve", *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def test_a_settings_file_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "tokenrevoke.toml"
    config.write_text('access_log = "yes"\n')
    result = cli(tmp_path / "data", "serve", "--config", str(config), check=False)
    assert result.returncode == 2
    assert "access_log has the wrong type" in result.stderr.replace("\n", " ")
