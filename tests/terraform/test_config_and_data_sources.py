"""`jans_tokens`, `jans_feature_flags` and `jans_app_configuration` through real Terraform."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.wire import sha256_hex
from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import (
    REQUIRED_PROVIDERS,
    Admin,
    RecordingProxy,
    Workspace,
)

HARNESS = REQUIRED_PROVIDERS + '\nprovider "jans" {}\n'

# Janssen names of the properties jans_app_configuration manages.
MANAGED = {
    "feature_flags": "featureFlags",
    "allow_all_value_for_revoke_endpoint": "allowAllValueForRevokeEndpoint",
    "allow_revoke_for_other_clients": "allowRevokeForOtherClients",
    "error_reason_enabled": "errorReasonEnabled",
    "token_revocation_endpoint": "tokenRevocationEndpoint",
    "mtls_token_revocation_endpoint": "mtlsTokenRevocationEndpoint",
    "introspection_access_token_must_have_introspection_scope":
        "introspectionAccessTokenMustHaveIntrospectionScope",
    "introspection_access_token_must_have_uma_protection_scope":
        "introspectionAccessTokenMustHaveUmaProtectionScope",
    "introspection_restrict_basic_authn_to_own_tokens":
        "introspectionRestrictBasicAuthnToOwnTokens",
    "introspection_skip_authorization": "introspectionSkipAuthorization",
    "access_token_lifetime": "accessTokenLifetime",
    "refresh_token_lifetime": "refreshTokenLifetime",
}  # fmt: skip


def changed_attributes(plan: str) -> list[str]:
    return re.findall(r"^\s+~ (\w+)\s+=", plan, re.MULTILINE)


def outputs(ws: Workspace) -> dict[str, Any]:
    return {k: v["value"] for k, v in ws.state().get("outputs", {}).items()}


def patches(proxy: RecordingProxy) -> list[list[dict[str, Any]]]:
    calls = [r for r in proxy.api_calls() if r.method == "PATCH"]
    for call in calls:
        assert call.headers["Content-Type"] == "application/json-patch+json"
    return [json.loads(c.body) for c in calls]


def writes(proxy: RecordingProxy) -> list[str]:
    return [f"{r.method} {r.path}" for r in proxy.requests if r.method not in ("GET",)
            and not r.path.startswith("/jans-auth/restv1/token")]  # fmt: skip


@pytest.fixture
def restore_config(admin: Admin) -> Iterator[dict[str, Any]]:
    before = admin.config()
    yield before
    admin.patch_config(
        [
            {"op": "replace", "path": "/" + prop, "value": before.get(prop)}
            for prop in MANAGED.values()
        ]
    )


# -- jans_tokens ------------------------------------------------------------------------------
def test_tokens_data_source(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy
) -> None:
    mine = admin.create_client(["openid"], name="audited")
    other = admin.create_client(["openid"], name="other")
    my_tokens = [admin.client_credentials(mine) for _ in range(5)]
    for _ in range(2):
        admin.client_credentials(other)
    ws = workspace()
    ws.write("main.tf", HARNESS + f"""
data "jans_tokens" "page" {{
  client_id   = "{mine.client_id}"
  limit       = 2
  start_index = 1
}}
data "jans_tokens" "all" {{
  client_id = "{mine.client_id}"
}}
data "jans_tokens" "combined" {{
  client_id = "{other.client_id}"
  pattern   = "client_credentials"
}}
output "page" {{
  value = data.jans_tokens.page
}}
output "all" {{
  value = data.jans_tokens.all
}}
output "combined" {{
  value = data.jans_tokens.combined
}}
""")  # fmt: skip
    ws.init()
    proxy.clear()
    ws.apply()
    out = outputs(ws)
    page, every, combined = out["page"], out["all"], out["combined"]
    # total_entries is the API's totalEntriesCount (the Go provider always read 0).
    assert (page["total_entries"], page["entries_count"], page["start"]) == (5, 2, 1)
    assert (page["limit"], page["start_index"]) == (2, 1)
    assert len(page["tokens"]) == 2
    assert (every["total_entries"], every["entries_count"], every["limit"]) == (5, 5, 50)
    assert every["start_index"] == 0
    assert {t["token_code"] for t in every["tokens"]} == {sha256_hex(t) for t in my_tokens}
    for token in every["tokens"]:
        assert token["client_id"] == mine.client_id
        assert token["token_type"] == "access_token"
        assert token["grant_type"] == "client_credentials"
        assert token["scope"] == "openid"
        assert token["dn"] == f"tknCde={token['token_code']},ou=tokens,o=jans"
        assert token["creation_date"] and token["expiration_date"]
        assert token["user_id"] == "" and token["authorization_code"] == ""
    # client_id combines with pattern (the Go provider dropped pattern/limit/start_index).
    assert (combined["total_entries"], combined["entries_count"]) == (2, 2)
    assert {t["client_id"] for t in combined["tokens"]} == {other.client_id}
    queries = [parse_qs(urlsplit(r.path).query) for r in proxy.api_calls()
               if r.path.startswith("/jans-config-api/api/v1/token/search")]  # fmt: skip
    assert {
        "limit": ["2"],
        "startIndex": ["1"],
        "fieldValuePair": [f"clnId={mine.client_id}"],
    } in queries
    assert {"limit": ["50"], "startIndex": ["0"], "pattern": ["client_credentials"],
            "fieldValuePair": [f"clnId={other.client_id}"]} in queries  # fmt: skip


def test_tokens_example_revokes_what_it_finds(workspace: WorkspaceFactory, admin: Admin) -> None:
    """The jans_tokens page's example: find a client's access tokens, revoke them all."""
    audited = admin.create_client(["openid"], name="compromised")
    tokens = [admin.client_credentials(audited) for _ in range(3)]
    ws = workspace()
    ws.copy_example("data-sources/jans_tokens/data-source.tf", "main.tf")
    ws.write("harness.tf", HARNESS + 'variable "client_id_to_audit" {\n  type = string\n}\n')
    ws.set_vars(client_id_to_audit=audited.client_id)
    ws.init()
    applied = ws.apply()
    assert "Apply complete! Resources: 3 added" in applied.output
    assert outputs(ws)["client_token_count"] == 3
    assert not any(admin.active(t) for t in tokens)


# -- jans_feature_flags -----------------------------------------------------------------------
def test_feature_flags_data_source(
    workspace: WorkspaceFactory, admin: Admin, restore_config: dict[str, Any]
) -> None:
    ws = workspace()
    ws.copy_example("data-sources/jans_feature_flags/data-source.tf", "main.tf")
    ws.write(
        "harness.tf",
        HARNESS + 'output "flags" {\n  value = data.jans_feature_flags.current.flags\n}\n',
    )
    ws.init()
    ws.apply()
    assert outputs(ws) == {"flags": [], "revocation_enabled": True}
    admin.patch_config([{"op": "replace", "path": "/featureFlags", "value": ["INTROSPECTION"]}])
    ws.apply()
    assert outputs(ws) == {"flags": ["INTROSPECTION"], "revocation_enabled": False}


# -- jans_app_configuration -------------------------------------------------------------------
def test_app_configuration_import_update_changed_fields_only_destroy_leaves_server(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy,
    restore_config: dict[str, Any],
) -> None:  # fmt: skip
    before = restore_config
    assert before["errorReasonEnabled"] is False
    ws = workspace()
    ws.write("main.tf", HARNESS + """
resource "jans_app_configuration" "this" {
  error_reason_enabled = true
}
""")  # fmt: skip
    ws.init()
    imported = ws.command("import", "jans_app_configuration.this", "global")
    assert "Import successful!" in imported.output
    [instance] = ws.state_resources("jans_app_configuration")
    state = instance["attributes"]
    assert state["id"] == "global"
    for attr, prop in MANAGED.items():
        assert state[attr] == before.get(prop), attr  # unset: absent

    plan = ws.plan()
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in plan.output
    assert "~ error_reason_enabled" in plan.output
    assert changed_attributes(plan.output) == ["error_reason_enabled"]
    assert "# (10 unchanged attributes hidden)" in plan.output

    proxy.clear()
    ws.apply()
    assert patches(proxy) == [[{"op": "replace", "path": "/errorReasonEnabled", "value": True}]]
    after = admin.config()
    assert after["errorReasonEnabled"] is True
    assert {k: v for k, v in after.items() if k != "errorReasonEnabled"} == {
        k: v for k, v in before.items() if k != "errorReasonEnabled"
    }
    assert "No changes." in ws.plan().output

    # Two more fields: one PATCH with exactly those two replaces.
    ws.write("main.tf", HARNESS + """
resource "jans_app_configuration" "this" {
  error_reason_enabled  = true
  access_token_lifetime = 600
  feature_flags         = ["REVOKE_TOKEN", "INTROSPECTION"]
}
""")  # fmt: skip
    proxy.clear()
    ws.apply()
    assert patches(proxy) == [[
        {"op": "replace", "path": "/featureFlags", "value": ["REVOKE_TOKEN", "INTROSPECTION"]},
        {"op": "replace", "path": "/accessTokenLifetime", "value": 600},
    ]]  # fmt: skip
    after = admin.config()
    assert after["accessTokenLifetime"] == 600
    assert after["featureFlags"] == ["REVOKE_TOKEN", "INTROSPECTION"]
    assert "No changes." in ws.plan().output

    # Drift made outside Terraform is detected and put back, alone.
    admin.patch_config([{"op": "replace", "path": "/errorReasonEnabled", "value": False}])
    drift = ws.plan()
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in drift.output
    proxy.clear()
    ws.apply()
    assert patches(proxy) == [[{"op": "replace", "path": "/errorReasonEnabled", "value": True}]]

    # Destroy: the server keeps its configuration; no write of any kind.
    snapshot = admin.config()
    proxy.clear()
    destroyed = ws.destroy()
    assert "Destroy complete! Resources: 1 destroyed." in destroyed.output
    assert "jans_app_configuration left as it is" in destroyed.output
    assert writes(proxy) == []
    assert admin.config() == snapshot


def test_app_configuration_create_adopts_the_singleton(
    workspace: WorkspaceFactory, admin: Admin, proxy: RecordingProxy,
    restore_config: dict[str, Any],
) -> None:  # fmt: skip
    before = restore_config
    ws = workspace()
    ws.copy_example("resources/jans_app_configuration/resource.tf", "main.tf")
    ws.write("harness.tf", HARNESS)
    ws.init()
    wanted = {
        "featureFlags": ["REVOKE_TOKEN", "INTROSPECTION", "GLOBAL_TOKEN_REVOCATION"],
        "allowAllValueForRevokeEndpoint": True,
        "allowRevokeForOtherClients": False,
        "errorReasonEnabled": True,
        "introspectionRestrictBasicAuthnToOwnTokens": True,
        "accessTokenLifetime": 300,
        "refreshTokenLifetime": 86400,
    }
    proxy.clear()
    ws.apply()
    # Only what the configuration sets and the server does not already have.
    expected = [
        {"op": "replace", "path": "/" + prop, "value": value}
        for attr, prop in MANAGED.items()
        if prop in wanted and (value := wanted[prop]) != before.get(prop)
    ]
    assert expected and len(expected) < len(wanted)
    assert patches(proxy) == [expected]
    after = admin.config()
    for prop, value in wanted.items():
        assert after[prop] == value
    assert "No changes." in ws.plan().output

    snapshot = admin.config()
    proxy.clear()
    ws.destroy()
    assert writes(proxy) == []
    assert admin.config() == snapshot

    # Any import id finds the one configuration.
    ws.command("import", "jans_app_configuration.this", "my-janssen")
    [instance] = ws.state_resources("jans_app_configuration")
    assert instance["attributes"]["id"] == "global"
    assert "No changes." in ws.plan().output
