"""Typed reads of the auth-server properties the code acts on.

`AppConfiguration` holds the properties by their Janssen names with values of any type
(`cfg["issuer"]` is `Any`); validation (model/config.py) guarantees each one's type, and
this says it to the type checker: `cfg.issuer` is a `str`. One line per property, each
naming its Janssen property (tests/unit/test_config_model.py checks every one against
the defaults' types).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Prop(Generic[T]):
    """A property of the configuration, read by its Janssen name, typed as `T`. (No
    `__slots__`: `Prop[T](...)` keeps its `T` in `__orig_class__`, which the test reads.)"""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Prop[T]: ...
    @overload
    def __get__(self, obj: TypedProperties, owner: type[Any]) -> T: ...
    def __get__(self, obj: TypedProperties | None, owner: type[Any]) -> Prop[T] | T:
        if obj is None:
            return self
        value: T = obj.values[self.name]
        return value


class TypedProperties:
    """Mixed into `AppConfiguration`: its `values`, by typed name."""

    __slots__ = ()
    values: Mapping[str, Any]

    # URLs (the issuer and the endpoints derived from it unless set; mTLS ones only if set)
    issuer = Prop[str]("issuer")
    token_endpoint = Prop[str]("tokenEndpoint")
    token_revocation_endpoint = Prop[str]("tokenRevocationEndpoint")
    introspection_endpoint = Prop[str]("introspectionEndpoint")
    jwks_uri = Prop[str]("jwksUri")
    mtls_token_endpoint = Prop[str | None]("mtlsTokenEndpoint")
    mtls_token_revocation_endpoint = Prop[str | None]("mtlsTokenRevocationEndpoint")
    mtls_introspection_endpoint = Prop[str | None]("mtlsIntrospectionEndpoint")
    # revocation
    allow_all_value_for_revoke_endpoint = Prop[bool]("allowAllValueForRevokeEndpoint")
    allow_revoke_for_other_clients = Prop[bool]("allowRevokeForOtherClients")
    revoke_token_type_hint_restricts_search = Prop[bool]("revokeTokenTypeHintRestrictsSearch")
    revoke_token_script_timeout_ms = Prop[int]("revokeTokenScriptTimeoutMs")
    # errors, features, logging
    error_reason_enabled = Prop[bool]("errorReasonEnabled")
    feature_flags = Prop[list[str]]("featureFlags")
    logging_level = Prop[str | None]("loggingLevel")
    # token lifetimes and refresh-token rotation
    access_token_lifetime = Prop[int]("accessTokenLifetime")
    refresh_token_lifetime = Prop[int]("refreshTokenLifetime")
    id_token_lifetime = Prop[int]("idTokenLifetime")
    refresh_token_extend_lifetime_on_rotation = Prop[bool]("refreshTokenExtendLifetimeOnRotation")
    refresh_token_reuse_detection = Prop[bool]("refreshTokenReuseDetection")
    refresh_token_reuse_grace_seconds = Prop[int]("refreshTokenReuseGraceSeconds")
    # introspection
    introspection_access_token_must_have_introspection_scope = Prop[bool](
        "introspectionAccessTokenMustHaveIntrospectionScope"
    )
    introspection_access_token_must_have_uma_protection_scope = Prop[bool](
        "introspectionAccessTokenMustHaveUmaProtectionScope"
    )
    introspection_restrict_basic_authn_to_own_tokens = Prop[bool](
        "introspectionRestrictBasicAuthnToOwnTokens"
    )
    introspection_skip_authorization = Prop[bool]("introspectionSkipAuthorization")
    # discovery and CORS
    discovery_allowed_keys = Prop[list[str]]("discoveryAllowedKeys")
    discovery_deny_keys = Prop[list[str]]("discoveryDenyKeys")
    cors_configuration_filters = Prop[list[dict[str, Any]]]("corsConfigurationFilters")
    # background work: purge, key rotation
    clean_service_interval = Prop[int]("cleanServiceInterval")
    clean_service_batch_chunk_size = Prop[int]("cleanServiceBatchChunkSize")
    key_regeneration_enabled = Prop[bool]("keyRegenerationEnabled")
    key_regeneration_interval = Prop[int]("keyRegenerationInterval")
    # authentication throttle (oauth/throttle.py)
    client_auth_failure_limit_per_client = Prop[int]("clientAuthFailureLimitPerClient")
    client_auth_failure_ceiling_per_client = Prop[int]("clientAuthFailureCeilingPerClient")
    client_auth_failure_limit_per_address = Prop[int]("clientAuthFailureLimitPerAddress")
    client_auth_failure_window_seconds = Prop[int]("clientAuthFailureWindowSeconds")
    password_failure_limit_per_user = Prop[int]("passwordFailureLimitPerUser")
    password_failure_ceiling_per_user = Prop[int]("passwordFailureCeilingPerUser")
    # revocation events (docs/events.md)
    revocation_event_receivers = Prop[list[dict[str, str]]]("revocationEventReceivers")
    revocation_event_retry_max_seconds = Prop[int]("revocationEventRetryMaxSeconds")
    revocation_event_retention_seconds = Prop[int]("revocationEventRetentionSeconds")
    revocation_event_heartbeat_seconds = Prop[int]("revocationEventHeartbeatSeconds")
    # the config API
    client_secret_minimum_length = Prop[int]("clientSecretMinimumLength")
    outbound_allow_private_networks = Prop[bool]("outboundAllowPrivateNetworks")
    # browser sign-in and sessions (docs/sign-in.md)
    authorization_endpoint = Prop[str]("authorizationEndpoint")
    user_info_endpoint = Prop[str]("userInfoEndpoint")
    end_session_endpoint = Prop[str]("endSessionEndpoint")
    authorization_code_lifetime = Prop[int]("authorizationCodeLifetime")
    require_pkce = Prop[bool]("requirePkce")
    session_id_lifetime = Prop[int]("sessionIdLifetime")
    session_id_unused_lifetime = Prop[int]("sessionIdUnusedLifetime")
    session_id_unauthenticated_unused_lifetime = Prop[int]("sessionIdUnauthenticatedUnusedLifetime")
    force_id_token_hint_presence = Prop[bool]("forceIdTokenHintPresence")
    reject_end_session_if_id_token_expired = Prop[bool]("rejectEndSessionIfIdTokenExpired")
    # the Token Status List (docs/status-list.md)
    status_list_bit_size = Prop[int]("statusListBitSize")
    status_list_index_allocation_block_size = Prop[int]("statusListIndexAllocationBlockSize")
    status_list_response_jwt_lifetime = Prop[int]("statusListResponseJwtLifetime")
    status_list_ttl_seconds = Prop[int]("statusListTtlSeconds")
    status_list_period_seconds = Prop[int]("statusListPeriodSeconds")


__all__ = ["Prop", "TypedProperties"]
