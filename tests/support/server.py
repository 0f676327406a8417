"""A real `tokenrevoke serve` process on a free port, and helpers to drive it.

Tests talk to it over HTTP only; admin set-up goes through the `tokenrevoke` CLI, as an
operator would: the local commands (`serve`, `init`, `user`) against the data directory,
every other command over HTTP to the config API with the admin client's credentials.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tokenrevoke.model.config import parse_property_value

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"
AUTH = "/jans-auth/restv1"
# The server polls for configuration changes every 0.5 s.
CONFIG_PROPAGATION_SECONDS = 1.2
# httpx builds a new SSL context (~25 ms) for every client; one shared context keeps the
# many short-lived clients of the suite cheap (it is never used for plain http).
_DEFAULT_TLS = ssl.create_default_context()
# Suites fail client authentication on purpose, hundreds of times a minute from 127.0.0.1:
# the servers they start do not throttle that unless a test configures it (see
# tests/integration/test_observability.py).
NO_THROTTLE = {
    "clientAuthFailureLimitPerClient": 0,
    "clientAuthFailureCeilingPerClient": 0,
    "clientAuthFailureLimitPerAddress": 0,
    "passwordFailureLimitPerUser": 0,
    "passwordFailureCeilingPerUser": 0,
}
# Receivers and jwks_uri servers in tests listen on 127.0.0.1, which a server refuses by
# default (SSRF); a test of that refusal turns this off.
LAB_NETWORK = {"outboundAllowPrivateNetworks": True}
# Commands that work on the data directory; every other one talks to the config API.
LOCAL_COMMANDS = frozenset({"serve", "init", "user", "audit"})
# Nothing from the developer's environment may steer the CLI (a profile, a CA, ...).
HERMETIC_ENV = {
    "TOKENREVOKE_PROFILES": os.devnull,
    "TOKENREVOKE_PROFILE": "",
    "TOKENREVOKE_URL": "",
    "TOKENREVOKE_CLIENT_ID": "",
    "TOKENREVOKE_CLIENT_SECRET": "",
    "TOKENREVOKE_CA_CERT": "",
    "TOKENREVOKE_INSECURE": "",
    "TOKENREVOKE_PROPERTIES": "",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `tokenrevoke ARGS` as a separate process, as an operator would."""
    command = [sys.executable, "-m", "tokenrevoke.cli.main", *args]
    environment = {**os.environ, **HERMETIC_ENV, **(env or {})}
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=timeout, input=input
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def cli(
    data_dir: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a local `tokenrevoke` command (serve, init, user) against a data directory."""
    return run_cli(*args, "--data-dir", str(data_dir), check=check, env=env, input=input)


def admin_cli(
    url: str,
    *args: str,
    client_id: str = ADMIN_ID,
    client_secret: str = ADMIN_SECRET,
    tls: list[str] | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run an admin `tokenrevoke` command against a running server's config API. The
    credentials go as --admin-client-id/--admin-client-secret (aliases of --client-id and
    --client-secret), which `client create --client-id NEW` leaves free."""
    connection = ["--url", url, "--admin-client-id", client_id,
                  "--admin-client-secret", client_secret, *(tls or [])]  # fmt: skip
    # Options must come before a `--` (after it everything is a positional, such as a raw
    # token that starts with "-").
    split = args.index("--") if "--" in args else len(args)
    ordered = (*args[:split], *connection, *args[split:])
    return run_cli(*ordered, check=check, env=env, input=input, timeout=timeout)


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
                 verify: ssl.SSLContext | str | bool | None = None,
                 database_url: str | None = None) -> None:  # fmt: skip
        self.data_dir = data_dir
        # PostgreSQL instead of SQLite in the data dir: for `serve` and the local commands.
        self.database_url = database_url
        self.port = free_port()
        self.scheme = scheme
        # For https: how clients verify the server (an SSLContext or CA file). When set,
        # start() also waits for /health/live over TLS and http() uses it by default.
        self.verify = verify
        self.extra_args = [*(extra_args or []), *self.store_options()]
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        # Properties given to `configure` before start: passed to `serve --properties`.
        self.properties: dict[str, Any] = {**NO_THROTTLE, **LAB_NETWORK}
        self.properties_path = data_dir.parent / f"properties-{self.port}.json"
        # Admin commands on a server that is not running start it for their duration.
        self._lock = threading.Lock()
        self._temporary_users = 0

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
        if self.properties:
            self.properties_path.write_text(json.dumps(self.properties))
            command += ["--properties", str(self.properties_path)]
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
                time.sleep(0.02)  # restarts in crash tests: every 0.1 s counts
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, after closing the keep-alive session (so that no suite leaves one open
        and shutdown need not wait on it); `session` opens a new one after a restart."""
        self.close_session()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what a crash looks like."""
        self.close_session()
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- admin through the CLI --------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`tokenrevoke ARGS`: local commands against the data directory, admin commands
        over HTTP with the admin client (starting the server for them if it is not up)."""
        if args and args[0] in LOCAL_COMMANDS:
            # The server's environment too: nodes sharing a database share its master key.
            return cli(self.data_dir, *args, *self.store_options(), check=check, env=self.env)
        return self.admin(*args, check=check)

    def admin(
        self, *args: str, check: bool = True, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """An admin command over HTTP (see `admin_cli`); kwargs: env, input, timeout, ..."""
        with self._up():
            return admin_cli(self.url, *args, tls=self.tls_options(), check=check, **kwargs)

    def store_options(self) -> list[str]:
        return ["--database-url", self.database_url] if self.database_url else []

    def tls_options(self) -> list[str]:
        """How the CLI verifies an https server: the CA the tests trust, as a file."""
        if self.scheme != "https":
            return []
        if isinstance(self.verify, (str, Path)):
            return ["--ca-cert", str(self.verify)]
        if isinstance(self.verify, ssl.SSLContext):
            ders = self.verify.get_ca_certs(binary_form=True)
            if ders:
                path = self.data_dir.parent / f"ca-{self.port}.pem"
                path.write_text("".join(ssl.DER_cert_to_PEM_cert(der) for der in ders))
                return ["--ca-cert", str(path)]
        return ["--insecure"]

    @contextmanager
    def _up(self) -> Iterator[None]:
        """Admin commands need the config API: when the server is not running (set-up
        before the real start), run it for the duration, shared by concurrent callers."""
        with self._lock:
            temporary = self._temporary_users > 0 or not self.running
            if temporary:
                if self._temporary_users == 0:
                    self.start()
                self._temporary_users += 1
        try:
            yield
        finally:
            if temporary:
                with self._lock:
                    self._temporary_users -= 1
                    if self._temporary_users == 0:
                        self.stop()

    def create_client(
        self,
        *args: str,
        name: str | None = None,
        grant_types: Sequence[str] = (),
        scopes: Sequence[str] = (),
        auth_method: str | None = None,
    ) -> Client:
        """`tokenrevoke client create`: the usual options by keyword, any other as the
        command's own arguments (`"--secret", S`, ...)."""
        options = [*(("--name", name) if name is not None else ())]
        options += [arg for grant in grant_types for arg in ("--grant-type", grant)]
        options += [arg for scope in scopes for arg in ("--scope", scope)]
        options += ("--auth-method", auth_method) if auth_method is not None else ()
        out = self.cli("client", "create", "--json", *options, *args)
        data = json.loads(out.stdout)
        return Client(data["inum"], data.get("clientSecret"), data)

    def set_config(self, name: str, value: Any) -> None:
        """`tokenrevoke config set` over HTTP, then wait until every node uses it."""
        text = value if isinstance(value, str) else json.dumps(value)
        self.cli("config", "set", name, text)
        time.sleep(CONFIG_PROPAGATION_SECONDS)

    # -- the wire ---------------------------------------------------------------------
    def http(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("verify", self.verify if self.verify is not None else _DEFAULT_TLS)
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
        """Properties for a server that is not started yet: written to a properties file
        that `serve --properties` applies at start (and at every restart). On a running
        server, `tokenrevoke config set` without waiting for propagation (a test that
        needs it live uses `set_config`, or polls with `wait_until`)."""
        if self.running:
            for name, value in values.items():
                text = value if isinstance(value, str) else json.dumps(value)
                self.cli("config", "set", name, text)
        else:  # a string is what an operator would type after `config set NAME`
            self.properties.update(
                {k: parse_property_value(k, v) if isinstance(v, str) else v
                 for k, v in values.items()}
            )  # fmt: skip
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

    # Keep-alive variants of token/revoke/introspect/active, for suites making hundreds of
    # calls.
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

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """Every sample of GET /metrics, parsed from the exposition text."""
        from prometheus_client.parser import text_string_to_metric_families

        response = self.session.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        ]

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
        return sum(
            value
            for sample, have, value in self.metrics()
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )

    def wait_until(self, predicate: Any, timeout: float = 5.0, interval: float = 0.1) -> None:
        """Poll `predicate()` until it is true (a change made through the CLI is live)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached within {timeout}s")
            time.sleep(interval)


def own_server(
    factory: pytest.TempPathFactory, name: str, config: dict[str, Any]
) -> Iterator[Server]:
    """A server configured before it starts, so no test has to wait for propagation;
    stopped afterwards. For a module fixture to `yield from`."""
    srv = Server(factory.mktemp(name) / "data").configure(config).start()
    try:
        yield srv
    finally:
        srv.stop()
