"""Resource logic that needs no server: validation, patch building, state mapping."""

from __future__ import annotations

from terraform_provider_jans.data_sources.tokens import Tokens, token_entry
from terraform_provider_jans.provider import JansProvider
from terraform_provider_jans.resources.app_configuration import AppConfiguration
from terraform_provider_jans.resources.token_revocation import TokenRevocation, resource_id
from terraform_provider_jans.tfbridge import UNKNOWN, new_diagnostics
from tests.support.wire import sha256_hex


def test_token_revocation_validation_and_id() -> None:
    diags = new_diagnostics()
    TokenRevocation(JansProvider()).validate(diags, "jans_token_revocation", {"token_code": " "})
    assert diags.has_errors()
    diags = new_diagnostics()
    TokenRevocation(JansProvider()).validate(
        diags, "jans_token_revocation", {"token_code": UNKNOWN}
    )
    assert not diags.has_errors()
    assert resource_id("secret-token") == "token_revocation_" + sha256_hex("secret-token")
    assert "secret-token" not in resource_id("secret-token")


def test_patch_replaces_present_properties_and_adds_missing_ones() -> None:
    patch = AppConfiguration._patch(
        {"error_reason_enabled": True, "mtls_token_revocation_endpoint": "https://m/revoke"},
        {"errorReasonEnabled": False},
    )
    assert patch == [
        {"op": "replace", "path": "/errorReasonEnabled", "value": True},
        {"op": "add", "path": "/mtlsTokenRevocationEndpoint", "value": "https://m/revoke"},
    ]


def test_state_keeps_the_configured_spelling_of_equal_flags() -> None:
    state = AppConfiguration._state(
        {"featureFlags": ["REVOKE_TOKEN", "INTROSPECTION"], "accessTokenLifetime": 300},
        {"feature_flags": ["introspection", "revoke_token"], "access_token_lifetime": 300.0},
    )
    assert state["feature_flags"] == ["introspection", "revoke_token"]
    assert state["access_token_lifetime"] == 300.0
    assert state["id"] == "global"
    assert state["error_reason_enabled"] is None  # not in the document


def test_tokens_validation_and_entry_mapping() -> None:
    diags = new_diagnostics()
    Tokens(JansProvider()).validate(diags, "jans_tokens", {"limit": 0, "start_index": -1})
    assert len([d for d in diags.diagnostics if d.severity == "error"]) == 2
    entry = token_entry({"tokenCode": "abc", "clientId": "c", "userId": None})
    assert entry["token_code"] == "abc" and entry["user_id"] == "" and entry["dn"] == ""
