"""Failures as a Terraform user sees them: bad credentials, an unreachable server and a
missing scope each fail the apply with a message that says what to do, and nothing is
recorded in the state."""

from __future__ import annotations

import pytest

from tests.support.server import free_port
from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import (
    REQUIRED_PROVIDERS,
    TOKEN_DELETE,
    TOKEN_READ,
    Admin,
    Workspace,
)

CONFIG = (
    REQUIRED_PROVIDERS
    + """
provider "jans" {}

variable "token" {
  type      = string
  sensitive = true
}

resource "jans_token_revocation" "one" {
  token_code = var.token
}
"""
)


@pytest.fixture(scope="module")
def token(admin: Admin) -> str:
    victim = admin.create_client(["openid"], name="victim")
    return admin.client_credentials(victim)


@pytest.fixture
def ws(workspace: WorkspaceFactory, token: str) -> Workspace:
    space = workspace()
    space.write("main.tf", CONFIG).set_vars(token=token)
    space.init()
    return space


def failed_apply(ws: Workspace, token: str) -> str:
    result = ws.apply(check=False)
    assert result.retcode == 1, result.output
    assert token not in result.output
    assert ws.state_resources("jans_token_revocation") == []
    return " ".join(result.output.split())  # Terraform wraps long lines


def test_bad_credentials(ws: Workspace, admin: Admin, token: str) -> None:
    ws.env["JANS_CLIENT_SECRET"] = "not-the-secret-0123456789"
    output = failed_apply(ws, token)
    assert "Error: Janssen rejected the provider's client credentials" in output
    assert "invalid_client" in output
    assert "Check client_id and client_secret in the provider block" in output
    assert admin.active(token)


def test_unreachable_server(ws: Workspace, admin: Admin, token: str) -> None:
    ws.env["JANS_URL"] = f"http://127.0.0.1:{free_port()}"
    ws.env["JANS_MAX_RETRIES"] = "1"
    output = failed_apply(ws, token)
    assert "Error: Cannot reach the Janssen server" in output
    assert "Connection refused" in output or "ConnectionRefusedError" in output
    assert "Check the provider's url (or JANS_URL)" in output
    assert admin.active(token)


def test_missing_scope(ws: Workspace, admin: Admin, token: str) -> None:
    reader = admin.create_client([TOKEN_READ], name="no-delete-scope")
    ws.env["JANS_CLIENT_ID"], ws.env["JANS_CLIENT_SECRET"] = reader.client_id, reader.secret
    output = failed_apply(ws, token)
    assert f"Error: Scope not granted: {TOKEN_DELETE}" in output
    assert "Add that scope to the client" in output
    assert admin.active(token)


def test_missing_url(ws: Workspace, admin: Admin, token: str) -> None:
    ws.env["JANS_URL"] = None
    output = failed_apply(ws, token)
    assert "Error: The provider's url is not set" in output
    assert "JANS_URL" in output
