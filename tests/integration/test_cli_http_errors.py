"""The admin CLI explains HTTP errors in one line, a 429 with when to retry; `token
revoke-all` says so when allowAllValueForRevokeEndpoint makes token=all a no-op."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.server import Server, admin_cli


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_429_says_when_to_retry(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data")
    srv.configure({"clientAuthFailureLimitPerClient": 2, "clientAuthFailureWindowSeconds": 30})
    srv.start()
    try:
        for _ in range(2):
            wrong = admin_cli(srv.url, "client", "list", client_secret="wrong-secret-0123456789",
                              check=False)  # fmt: skip
            assert "id or secret is wrong" in one_line_failure(wrong)
        line = one_line_failure(admin_cli(srv.url, "client", "list", check=False))
        assert "429" in line and "Too many failed attempts" in line, line
        seconds = re.search(r"retry in (\d+) s", line)
        assert seconds is not None and 1 <= int(seconds.group(1)) <= 30, line
        assert "{" not in line  # no raw JSON
    finally:
        srv.stop()


def test_other_http_errors_are_one_line(server: Server) -> None:
    line = one_line_failure(server.admin("client", "show", "no-such-client", check=False))
    assert "404" in line


def test_revoke_all_stops_when_all_is_a_no_op(fresh_server: Server) -> None:
    srv = fresh_server
    client = srv.create_client(name="revoke-all")
    tokens = [srv.fetch_token(client)["access_token"] for _ in range(3)]
    assert client.secret is not None
    off = srv.admin("token", "revoke-all", client.client_id, "--revoking-client-secret",
                    client.secret, check=False)  # fmt: skip
    line = one_line_failure(off)
    assert "allowAllValueForRevokeEndpoint is off" in line and "3 live tokens" in line
    assert all(srv.is_active(t) for t in tokens)

    srv.set_config("allowAllValueForRevokeEndpoint", True)
    on = srv.admin("token", "revoke-all", client.client_id, "--revoking-client-secret",
                   client.secret)  # fmt: skip
    assert f"revoked 3 tokens of client {client.client_id}; 0 live left" in on.stdout
    assert not any(srv.is_active(t) for t in tokens)
