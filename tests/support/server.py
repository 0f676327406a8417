"""A real `tokenrevoke serve` process on a free port, and helpers to drive it.

Tests talk to it over HTTP only; admin set-up goes through the `tokenrevoke` CLI against the
same data directory, as an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"
AUTH = "/jans-auth/restv1"
# The server polls for configuration changes every 0.5 s.
CONFIG_PROPAGATION_SECONDS = 1.2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(data_dir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run the `tokenrevoke` CLI against a data directory."""
    command = [sys.executable, "-m", "tokenrevoke.cli.main", *args, "--data-dir", str(data_dir)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})},
        timeout=60, input=input,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Client:
    client_id: str
    secret: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


class Server:
    def __init__(self, data_dir: Path, *, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, scheme: str = "http",
                 verify: ssl.SSLContext | str | bool | None = None) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.port = free_port()
        self.scheme = scheme
        # For https: how clients verify the server (an SSLContext or CA file). When set,
        # start() also waits for /health/live over TLS and http() uses it by default.
        self.verify = verify
        self.extra_args = extra_args or []
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--admin-client-id", ADMIN_ID,
            "--admin-client-secret", ADMIN_SECRET, *self.extra_args,
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env})  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if self.scheme == "http":
                    httpx.get(f"{self.url}/health/live", timeout=1.0).raise_for_status()
                elif self.verify is not None:
                    httpx.get(f"{self.url}/health/live", timeout=1.0,
                              verify=self.verify).raise_for_status()  # fmt: skip
                return self
            except (OSError, httpx.HTTPError):
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what a crash looks like."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- admin through the CLI --------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cli(self.data_dir, *args, check=check)

    def create_client(self, *args: str) -> Client:
        out = self.cli("client", "create", "--json", *args)
        data = json.loads(out.stdout)
        return Client(data["inum"], data.get("clientSecret"), data)

    def set_config(self, name: str, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.cli("config", "set", name, text)
        time.sleep(CONFIG_PROPAGATION_SECONDS)

    # -- the wire ---------------------------------------------------------------------
    def http(self, **kwargs: Any) -> httpx.Client:
        if self.verify is not None:
            kwargs.setdefault("verify", self.verify)
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)

    def token(self, client: Client, **form: str) -> dict[str, Any]:
        form.setdefault("grant_type", "client_credentials")
        with self.http() as http:
            response = http.post(f"{AUTH}/token", data=form, auth=client.basic)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def revoke(self, client: Client | None, **form: str) -> httpx.Response:
        with self.http() as http:
            return http.post(f"{AUTH}/revoke", data=form, auth=client.basic if client else None)

    def introspect(self, token: str, **form: str) -> dict[str, Any]:
        with self.http() as http:
            response = http.post(f"{AUTH}/introspection", data={"token": token, **form},
                                 auth=(ADMIN_ID, ADMIN_SECRET))  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def active(self, token: str) -> bool:
        return bool(self.introspect(token)["active"])

    # -- helpers added for the integration suite (additive) -----------------------------
    @property
    def db_path(self) -> Path:
        """The SQLite file the server (and the CLI) use."""
        return self.data_dir / "tokenrevoke.db"

    def configure(self, values: dict[str, Any]) -> Server:
        """Set properties through the CLI without waiting for propagation: for a server that
        is not started yet (a running one needs `set_config`, or polling with `wait_until`)."""
        for name, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            self.cli("config", "set", name, text)
        return self

    def create_user(self, username: str, password: str) -> None:
        self.cli("user", "create", "--username", username, "--password", password)

    def password_token(self, client: Client, username: str, password: str,
                       **form: str) -> dict[str, Any]:  # fmt: skip
        return self.fetch_token(client, grant_type="password", username=username,
                                password=password, **form)  # fmt: skip

    def refresh(self, client: Client, refresh_token: str, **form: str) -> dict[str, Any]:
        return self.fetch_token(client, grant_type="refresh_token", refresh_token=refresh_token,
                                **form)  # fmt: skip

    def discovery(self, path: str = "/.well-known/openid-configuration") -> dict[str, Any]:
        response = self.session.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # Keep-alive variants of token/revoke/introspect/active: creating an httpx.Client costs
    # ~30 ms (its TLS context), so a suite making hundreds of calls reuses one.
    @property
    def session(self) -> httpx.Client:
        session: httpx.Client | None = self.__dict__.get("_session")
        if session is None or session.is_closed:
            session = self.http()
            self.__dict__["_session"] = session
        return session

    def close_session(self) -> None:
        session = self.__dict__.pop("_session", None)
        if session is not None:
            session.close()

    def fetch_token(self, client: Client, **form: str) -> dict[str, Any]:
        form.setdefault("grant_type", "client_credentials")
        response = self.session.post(f"{AUTH}/token", data=form, auth=client.basic)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def send_revoke(self, client: Client | None, **form: str) -> httpx.Response:
        return self.session.post(f"{AUTH}/revoke", data=form,
                                 auth=client.basic if client else None)  # fmt: skip

    def fetch_introspection(self, token: str, **form: str) -> dict[str, Any]:
        response = self.session.post(f"{AUTH}/introspection", data={"token": token, **form},
                                     auth=(ADMIN_ID, ADMIN_SECRET))  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def is_active(self, token: str) -> bool:
        return bool(self.fetch_introspection(token)["active"])

    def wait_until(self, predicate: Any, timeout: float = 5.0, interval: float = 0.1) -> None:
        """Poll `predicate()` until it is true (a change made through the CLI is live)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached within {timeout}s")
            time.sleep(interval)
