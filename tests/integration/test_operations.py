"""What an operator relies on: settings from a file, graceful shutdown, health endpoints."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.server import Server, free_port

SLOW_SCRIPT = """
import time
from io.jans.model.custom.script.type.revoke import RevokeTokenType

class RevokeToken(RevokeTokenType):
    def revoke(self, context):
        time.sleep(1.0)
        return True
"""


def test_settings_file_fills_in_what_options_leave_unset(tmp_path: Path) -> None:
    file_port, option_port = free_port(), free_port()
    config = tmp_path / "tokenrevoke.toml"
    config.write_text(
        f'port = {file_port}\ndata_dir = "{tmp_path / "from-file"}"\nlog_level = "warning"\n'
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenrevoke.cli.main",
            "serve",
            "--config",
            str(config),
            "--port",
            str(option_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{option_port}/health/live").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start")
        assert (tmp_path / "from-file" / "tokenrevoke.db").exists(), "data_dir comes from the file"
        try:
            httpx.get(f"http://127.0.0.1:{file_port}/health/live", timeout=0.5)
            raise AssertionError("the --port option must win over the file")
        except httpx.HTTPError:
            pass
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_a_bad_settings_file_is_refused_clearly(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prot = 8080\n")
    result = subprocess.run(
        [sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unknown setting 'prot'" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_lets_in_flight_revocations_finish(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.configure({"revokeTokenScriptTimeoutMs": 5000})
    server.start()
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SCRIPT)
    server.cli("script", "add", "--name", "slow", "--file", str(script))
    client = server.create_client(name="graceful")
    token = server.token(client)["access_token"]
    outcome: dict[str, int] = {}

    def revoke() -> None:
        outcome["status"] = server.revoke(client, token=token).status_code

    worker = threading.Thread(target=revoke)
    worker.start()
    time.sleep(0.4)  # the request is inside the slow script now
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    worker.join(timeout=15)
    assert outcome.get("status") == 200, "the in-flight revocation must complete"
    # uvicorn re-raises SIGTERM once it has shut down cleanly: "terminated by signal".
    assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log()

    server.start()  # the revocation it answered is committed
    assert not server.active(token)
    server.stop()
