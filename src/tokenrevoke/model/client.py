"""OAuth clients, with the Janssen fields that matter for the token lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AuthMethod(StrEnum):
    """`tokenEndpointAuthMethod` values (RFC 7591, RFC 8705)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    CLIENT_SECRET_JWT = "client_secret_jwt"
    PRIVATE_KEY_JWT = "private_key_jwt"
    TLS_CLIENT_AUTH = "tls_client_auth"
    SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"
    NONE = "none"


SECRET_METHODS = frozenset(
    {AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST, AuthMethod.CLIENT_SECRET_JWT}
)


# Kept among the client's `attributes` as given (configapi/client_json.py checks its type).
STATUS_LIST_FOR_OPAQUE_TOKENS = "statusListForOpaqueTokens"


@dataclass(slots=True)
class Client:
    """A registered client. `client_id` is Janssen's `inum`.

    The secret is held only as an HMAC (for the constant-time check) and, when
    `client_secret_jwt` needs the raw value, as an AES-GCM ciphertext.
    """

    client_id: str
    client_name: str = ""
    secret_hash: str | None = None
    secret_encrypted: str | None = None
    grant_types: list[str] = field(default_factory=lambda: ["client_credentials"])
    scopes: list[str] = field(default_factory=list)
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    authorized_origins: list[str] = field(default_factory=list)
    access_token_as_jwt: bool = False
    access_token_lifetime: int | None = None
    refresh_token_lifetime: int | None = None
    id_token_lifetime: int | None = None
    tls_subject_dn: str | None = None
    tls_bound_tokens: bool = False
    # Per-client overrides of refreshTokenReuseDetection / refreshTokenReuseGraceSeconds;
    # None follows the server-wide property.
    refresh_token_reuse_detection: bool | None = None
    refresh_token_reuse_grace_seconds: int | None = None
    disabled: bool = False
    created_at: int = 0
    # The members of Janssen's client JSON this server does not act on (redirectUris,
    # subjectType, ...), kept as given and returned; `extra["attributes"]` holds the
    # `attributes` members likewise (configapi/clients.py).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        return self.auth_method is AuthMethod.NONE

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    @property
    def wants_status_list_for_opaque_tokens(self) -> bool:
        """Our client attribute `statusListForOpaqueTokens` (docs/status-list.md): its
        opaque access tokens get a status-list index too, shown by introspection."""
        attributes = self.extra.get("attributes")
        asked = isinstance(attributes, dict) and attributes.get(STATUS_LIST_FOR_OPAQUE_TOKENS)
        return asked is True
