"""Auth-server properties: defaults, validation, feature flags."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest

from tokenrevoke.model import AppConfiguration, ConfigError, FeatureFlag
from tokenrevoke.model.config import (
    IMPLEMENTED_FLAGS,
    PROPERTIES,
    flag_states,
    flags_on,
    parse_property_value,
    validate_document,
)
from tokenrevoke.model.typed_config import Prop, TypedProperties

BASE = "https://as.example.com"


def test_defaults_and_derived_urls() -> None:
    cfg = AppConfiguration.build({}, 1, BASE)
    assert cfg["issuer"] == BASE
    assert cfg["tokenRevocationEndpoint"] == f"{BASE}/jans-auth/restv1/revoke"
    assert cfg["allowAllValueForRevokeEndpoint"] is False
    assert cfg["accessTokenLifetime"] == 300
    assert cfg["mtlsTokenRevocationEndpoint"] is None


def test_endpoints_follow_a_configured_issuer() -> None:
    cfg = AppConfiguration.build({"issuer": "https://id.example.org"}, 1, BASE)
    assert cfg["introspectionEndpoint"] == "https://id.example.org/jans-auth/restv1/introspection"


def test_empty_flag_list_enables_everything() -> None:
    cfg = AppConfiguration.build({}, 1, BASE)
    assert all(cfg.enabled(flag) for flag in FeatureFlag)


def test_flags_are_case_insensitive_and_unknown_names_ignored() -> None:
    cfg = AppConfiguration.build({"featureFlags": ["revoke_token", "NO_SUCH_FLAG"]}, 1, BASE)
    assert cfg.enabled(FeatureFlag.REVOKE_TOKEN)
    assert not cfg.enabled(FeatureFlag.INTROSPECTION)
    only_unknown = AppConfiguration.build({"featureFlags": ["NO_SUCH_FLAG"]}, 1, BASE)
    assert only_unknown.enabled(FeatureFlag.INTROSPECTION)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"noSuchProperty": 1}, "unknown property"),
        ({"allowAllValueForRevokeEndpoint": "yes"}, "true or false"),
        ({"accessTokenLifetime": 0}, "positive integer"),
        ({"accessTokenLifetime": True}, "positive integer"),
        ({"issuer": "ftp://x"}, "http(s) URL"),
        ({"featureFlags": "REVOKE_TOKEN"}, "list of strings"),
        ({"corsConfigurationFilters": [{"corsEnabled": "on"}]}, "true or false"),
        ({"corsConfigurationFilters": [{"bogus": 1}]}, "unknown CORS filter keys"),
        ({"clientAuthFailureLimitPerClient": -1}, "integer from 0 to"),
        ({"clientAuthFailureLimitPerAddress": 1.5}, "integer from 0 to"),
        ({"clientAuthFailureLimitPerAddress": False}, "integer from 0 to"),
        ({"clientAuthFailureWindowSeconds": 0}, "integer from 1 to 86400"),
        ({"clientAuthFailureWindowSeconds": 86401}, "integer from 1 to 86400"),
        ({"revocationEventReceivers": "https://rs.example"}, "list of objects"),
        ({"revocationEventReceivers": [{"authorization": "Bearer x"}]}, "url must be"),
        ({"revocationEventReceivers": [{"url": "ftp://rs.example"}]}, "http(s) URL"),
        ({"revocationEventReceivers": [{"url": "https://rs", "secret": "x"}]}, "unknown receiver"),
        ({"revocationEventReceivers": [{"url": "https://rs", "audience": 3}]}, "audience must"),
        (
            {"revocationEventReceivers": [{"url": "https://rs", "authorization": "a\r\nX: y"}]},
            "single header value",
        ),
        ({"revocationEventReceivers": [{"url": "https://rs"}, {"url": "https://rs"}]}, "twice"),
        ({"revocationEventRetryMaxSeconds": 0}, "positive integer"),
    ],
)
def test_bad_documents_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_document(doc)


def test_cors_filters_are_completed_with_defaults() -> None:
    cleaned = validate_document({"corsConfigurationFilters": [{"corsAllowedOrigins": "https://a"}]})
    (rules,) = cleaned["corsConfigurationFilters"]
    assert rules["corsAllowedOrigins"] == "https://a" and rules["corsPreflightMaxAge"] == 1800


def test_command_line_values_are_typed() -> None:
    assert parse_property_value("allowAllValueForRevokeEndpoint", "true") is True
    assert parse_property_value("featureFlags", "REVOKE_TOKEN, INTROSPECTION") == [
        "REVOKE_TOKEN",
        "INTROSPECTION",
    ]
    assert parse_property_value("featureFlags", "[]") == []
    assert parse_property_value("mtlsTokenRevocationEndpoint", "https://m/r") == "https://m/r"
    with pytest.raises(ConfigError):
        parse_property_value("accessTokenLifetime", "soon")


def test_every_property_default_validates() -> None:
    defaults = {name: default for name, (_, default) in PROPERTIES.items() if default is not None}
    assert validate_document(defaults).keys() == defaults.keys()


def test_throttle_properties_accept_zero_to_turn_off() -> None:
    doc = {"clientAuthFailureLimitPerClient": 0, "clientAuthFailureLimitPerAddress": 0,
           "clientAuthFailureWindowSeconds": 86400}  # fmt: skip
    assert validate_document(doc) == doc
    defaults = AppConfiguration.build({}, 1, BASE)
    assert defaults["clientAuthFailureLimitPerClient"] == 10
    assert defaults["clientAuthFailureLimitPerAddress"] == 50
    assert defaults["clientAuthFailureWindowSeconds"] == 60


def test_push_receivers_are_kept_as_given() -> None:
    receivers = [
        {"url": "https://rs.example/events", "authorization": "Bearer abc", "audience": "rs"},
        {"url": "http://127.0.0.1:9000/set"},
    ]
    assert validate_document({"revocationEventReceivers": receivers}) == {
        "revocationEventReceivers": receivers
    }


# -- which flags tokenrevoke implements (shown by `feature list` and the TUI) ----------------
def flags_checked_by_the_server() -> set[FeatureFlag]:
    """Every `FeatureFlag.X` the server's code names (the CLI, the TUI and the model only
    list them)."""
    import ast
    from pathlib import Path

    import tokenrevoke

    root = Path(tokenrevoke.__file__).parent
    listing = {root / "cli", root / "tui", root / "model"}
    named: set[FeatureFlag] = set()
    for path in root.rglob("*.py"):
        if any(part in listing for part in path.parents):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "FeatureFlag"
            ):
                named.add(FeatureFlag(node.attr))
    return named


def test_implemented_flags_are_exactly_those_the_server_checks() -> None:
    assert set(IMPLEMENTED_FLAGS) == flags_checked_by_the_server()
    assert len(IMPLEMENTED_FLAGS) == len(set(IMPLEMENTED_FLAGS))


def test_an_unimplemented_flag_is_never_called_enabled() -> None:
    states = {s.flag: s for s in flag_states([])}  # [] = every flag configured on
    implemented = len(IMPLEMENTED_FLAGS)
    assert [s.flag for s in flag_states([])][:implemented] == list(IMPLEMENTED_FLAGS)
    assert len(states) == len(FeatureFlag)
    assert states[FeatureFlag.REVOKE_TOKEN].state == "enabled"
    for flag in (FeatureFlag.CIBA, FeatureFlag.UMA, FeatureFlag.U2F, FeatureFlag.PAR):
        assert states[flag].configured and not states[flag].enabled
        assert states[flag].state == "no effect (configured on)"
    assert all("enabled" not in s.state for s in states.values() if not s.implemented)

    listed = {s.flag: s for s in flag_states(["ciba", "INTROSPECTION", "nope"])}
    assert listed[FeatureFlag.REVOKE_TOKEN].state == "disabled"
    assert listed[FeatureFlag.INTROSPECTION].state == "enabled"
    assert listed[FeatureFlag.CIBA].state == "no effect (configured on)"
    assert listed[FeatureFlag.UMA].state == "no effect (configured off)"
    assert flags_on(["nope"]) == frozenset(FeatureFlag)  # only unknown names: all on


# -- Janssen's properties we keep without acting on them --------------------------------
from hypothesis import given, settings  # noqa: E402

from tests.support.appconfig_strategy import no_effect_properties  # noqa: E402


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"httpLoggingEnabled": True}, {"httpLoggingEnabled": True}),
        ({"useNestedJwtDuringEncryption": "true"}, {"useNestedJwtDuringEncryption": True}),
        ({"userInfoLifetime": "60"}, {"userInfoLifetime": 60}),
        ({"authenticationFilters": [{}]}, {"authenticationFilters": [{}]}),
        ({"responseTypesSupported": [["code"], ["code", "id_token"]]},
         {"responseTypesSupported": [["code"], ["code", "id_token"]]}),
        ({"acrMappings": {"a": "b"}}, {"acrMappings": {"a": "b"}}),
        ({"loggingLevel": "debug"}, {"loggingLevel": "DEBUG"}),
        ({"httpLoggingEnabled": None}, {}),
    ],
)  # fmt: skip
def test_janssen_properties_are_typed(doc: dict[str, object], expected: object) -> None:
    assert validate_document(doc) == expected


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"httpLoggingEnabled": "yes"}, "httpLoggingEnabled must be true or false"),
        ({"userInfoLifetime": 2**31}, "must be an integer from"),
        ({"userInfoLifetime": 1.5}, "must be an integer from"),
        ({"loggingLayout": 3}, "loggingLayout must be a string"),
        ({"responseTypesSupported": [["code", "bogus"]]}, r"responseTypesSupported\[0\]\[1\]"),
        ({"grantTypesSupported": "password"}, "must be a list"),
        ({"authenticationFilters": [{"bogus": 1}]}, "unknown member 'bogus'"),
        ({"acrMappings": {"a": 1}}, r"acrMappings\.a must be a string"),
        ({"loggingLevel": "LOUD"}, "loggingLevel must be one of TRACE"),
        ({"authenticationFilters": [{"filter": None}]}, "must not be null"),
    ],
)
def test_janssen_properties_of_the_wrong_type_are_refused(
    doc: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_document(doc)


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(no_effect_properties())
def test_every_schema_conformant_document_is_kept_as_given(doc: dict[str, object]) -> None:
    assert validate_document(doc) == doc


# What each kind of property validates to; URLs the configuration derives from the issuer
# are never None.
_KIND_TYPES: dict[str, object] = {
    "bool": bool,
    "posint": int,
    "nonnegint": int,
    "count": int,
    "window": int,
    "bits": int,
    "blocksize": int,
    "url": str | None,
    "strlist": list[str],
    "flags": list[str],
    "cors": list[dict[str, Any]],
    "receivers": list[dict[str, str]],
    "loglevel": str | None,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_typed_properties_read_the_property_they_name_with_its_type() -> None:
    cfg = AppConfiguration.build({"loggingLevel": "INFO"}, 1, BASE)
    props = {k: v for k, v in vars(TypedProperties).items() if isinstance(v, Prop)}
    assert len(props) >= 40
    for attribute, prop in props.items():
        assert prop.name in PROPERTIES, prop.name
        assert attribute == _snake(prop.name)
        assert getattr(cfg, attribute) is cfg[prop.name]
        declared = typing.get_args(prop.__orig_class__)[0]  # type: ignore[attr-defined]
        kind = PROPERTIES[prop.name][0]
        expected = str if kind == "url" and cfg[prop.name] is not None else _KIND_TYPES[kind]
        assert declared == expected, prop.name
