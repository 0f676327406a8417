"""Strict third-party clients, run by Node against a real server: openid-client (v6) and
oauth4webapi (v3), the libraries that found where a copied Janssen rule turned a failure
into a silent success (docs/security.md, S22 to S26).

tests/node/clients.mjs does, with each library: discovery at both well-known paths
(`openid-configuration` and RFC 8414's `oauth-authorization-server`); client_credentials,
password and refresh_token grants with client_secret_basic, client_secret_post and
client_secret_jwt; revocation of access and refresh tokens with every hint (none,
access_token, refresh_token, tx_token), each checked by introspection before and after and
by a refresh that must fail; a public client; and a wrong secret, which must be reported as
invalid_client, not as an authentication challenge. Any library error fails the test.

The packages come from tests/node/package-lock.json (`npm ci`, into a cache directory keyed
by the lock file). Without node and npm the test skips, except where
TOKENREVOKE_REQUIRE_SERVICES=1 (.ci/run), where it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import services
from tests.support.server import Server

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
USERNAME = "nodeuser"
PASSWORD = "a long and secret passphrase for node"  # noqa: S105 - test user
METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt"]
HINTS = ["null", "access_token", "refresh_token", "tx_token"]


def node_home() -> Path:
    """node_modules for tests/node's lock file, installed once per lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "node and npm are needed (Debian: apt-get install -y nodejs npm)"
        if services.required():  # .ci/run: CI must run everything
            pytest.fail(reason)
        pytest.skip(reason)
    manifest = (NODE_DIR / "package.json").read_bytes()
    lock = (NODE_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(manifest + lock).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    home = Path(os.environ.get("TOKENREVOKE_NODE_CACHE") or base) / f"tokenrevoke-node-{digest}"
    marker = home / ".installed"
    if not marker.exists():
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_bytes(manifest)
        (home / "package-lock.json").write_bytes(lock)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=home, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
        marker.write_text(digest)
    # Beside node_modules, so that its imports resolve there.
    shutil.copyfile(NODE_DIR / "clients.mjs", home / "clients.mjs")
    return home


@pytest.fixture(scope="module")
def plan(server: Server) -> Iterator[dict[str, Any]]:
    server.create_user(USERNAME, PASSWORD)
    grants = ["--grant-type", "client_credentials", "--grant-type", "password",
              "--grant-type", "refresh_token", "--scope", "openid"]  # fmt: skip
    clients = {}
    for method in METHODS:
        registered = server.create_client("--auth-method", method, *grants)
        clients[method] = {"id": registered.client_id, "secret": registered.secret}
    public = server.create_client(
        grant_types=["password", "refresh_token"], scopes=["openid"], auth_method="none"
    )
    redirect, logout = "https://app.example/callback", "https://app.example/signed-out"
    app = server.create_client(
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--scope", "openid", "--scope", "profile", "--redirect-uri", redirect,
        "--post-logout-redirect-uri", logout,
    )  # fmt: skip
    yield {"url": server.url, "username": USERNAME, "password": PASSWORD,
           "clients": clients, "public": public.client_id,
           "app": {"id": app.client_id, "secret": app.secret, "redirect": redirect,
                   "logout": logout}}  # fmt: skip


def test_openid_client_and_oauth4webapi(plan: dict[str, Any]) -> None:
    home = node_home()
    done = subprocess.run(
        ["node", "clients.mjs", json.dumps(plan)],
        cwd=home, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"node failed:\n{done.stdout}\n{done.stderr}"
    report: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    failed = [f"{r['lib']}: {r['step']}: {r['detail']}" for r in report if not r["ok"]]
    assert not failed, "\n".join(failed)
    # Every step ran (none silently skipped).
    steps = {(r["lib"], r["step"]) for r in report}
    for lib in ("openid-client", "oauth4webapi"):
        for algorithm in ("oidc", "oauth2"):
            assert (lib, f"discovery {algorithm}") in steps
        assert (lib, "wrong client_secret_post is invalid_client") in steps
        for method in METHODS:
            assert (lib, f"{method} client_credentials, introspect, revoke") in steps
            for kind in ("access_token", "refresh_token"):
                for hint in HINTS:
                    name = f"{method} password+refresh, revoke {kind} hint={hint}"
                    assert (lib, name) in steps, name
    assert ("openid-client", "public client password grant and revocation") in steps
    assert ("openid-client", "authorization code with PKCE through the sign-in page") in steps
    assert ("openid-client", "code flow: refresh, revoke, end_session") in steps
