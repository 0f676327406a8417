"""RFC 7662 introspection with Janssen's caller rules.

Differences from Janssen (docs/janssen-compatibility.md): a request without credentials is
401 invalid_client (Janssen: 400); a Bearer caller must hold the `introspection` scope by
default; `introspectionRestrictBasicAuthnToOwnTokens` restricts Bearer callers too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import AppConfiguration, FeatureFlag, TokenRecord, TokenType
from tokenrevoke.model.scope_ids import INTROSPECTION, UMA_PROTECTION
from tokenrevoke.oauth.bearer import bearer_owner
from tokenrevoke.oauth.client_auth import (
    AuthenticatedClient,
    ClientAuthenticator,
    unauthenticated,
)
from tokenrevoke.oauth.errors import OAuthError, access_denied, invalid_request
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.status_lists import StatusRef
from tokenrevoke.store.base import Store

INACTIVE: dict[str, Any] = {"active": False}
_INTROSPECTABLE = frozenset({TokenType.ACCESS_TOKEN, TokenType.REFRESH_TOKEN, TokenType.TX_TOKEN})
# RFC 7662 section 2.2: `token_type` is an access token's type (RFC 6749 section 5.1), so a
# refresh token has none (Janssen omits it too).
_TOKEN_TYPE_NAMES = {TokenType.ACCESS_TOKEN: "Bearer", TokenType.TX_TOKEN: "Bearer"}
_INTROSPECTION_FLAG = FeatureFlag.INTROSPECTION  # read once: `Enum.MEMBER` costs ~0.3 us


def invalid_token(description: str) -> OAuthError:
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    return OAuthError(401, "invalid_token", description, headers={"WWW-Authenticate": challenge})


class IntrospectionService:
    def __init__(
        self,
        store: Store,
        authenticator: ClientAuthenticator,
        config: Callable[[], AppConfiguration],
        keys: KeyRing,
    ) -> None:
        self._store = store
        self._auth = authenticator
        self._config = config
        self._keys = keys

    async def introspect(self, request: OAuthRequest) -> tuple[dict[str, Any], str | None]:
        """The response claims, and a signed JWT of them when `response_as_jwt=true`."""
        cfg = self._config()
        if not cfg.enabled(_INTROSPECTION_FLAG):
            raise access_denied("the introspection endpoint is disabled", "INTROSPECTION is off")
        caller = await self._authorize(request, cfg)
        token = request.param("token")
        if not token:
            raise invalid_request("token is required")
        now = int(time.time())
        record = await self._store.get_token(sha256_hex(token))
        claims = INACTIVE
        if (
            record is not None
            and record.is_live(now)
            and record.token_type in _INTROSPECTABLE
            and await self._client_live(record.client_id, caller)
        ):
            # Whatever the caller's credential (Janssen: Basic only, so a Bearer token of the
            # same client was a way around it).
            restricted = (
                cfg.introspection_restrict_basic_authn_to_own_tokens
                and caller is not None
                and record.client_id != caller.client.client_id
            )
            if not restricted:
                claims = self._claims(record, cfg)
        jwt_response = None
        if (request.param("response_as_jwt") or "").lower() == "true":
            # The token's own claims win: `iat`/`iss` of an active token mean the same in the
            # JWT as in the JSON form; only an inactive answer gets the response's own.
            jwt_response = self._keys.sign({"iss": cfg.issuer, "iat": now, **claims}, typ="JWT")
        return claims, jwt_response

    async def _authorize(
        self, request: OAuthRequest, cfg: AppConfiguration
    ) -> AuthenticatedClient | None:
        if cfg.introspection_skip_authorization:
            return None
        scheme, _, value = (request.authorization or "").partition(" ")
        if scheme.lower() == "bearer":
            return await self._bearer_caller(value.strip(), cfg)
        has_credentials = bool(request.authorization) or any(
            p in request.params for p in ("client_secret", "client_assertion")
        ) or request.client_cert is not None  # fmt: skip
        if not has_credentials:
            # RFC 7662 section 2.1 requires authorization; as /revoke, 401 (Janssen: 400).
            raise unauthenticated(request, "client authentication is required", "no credentials")
        result = await self._auth.authenticate(request)
        if not isinstance(result, AuthenticatedClient) or result.client.is_public:
            raise unauthenticated(request, "client authentication failed", "no usable client")
        return result

    async def _bearer_caller(self, token: str, cfg: AppConfiguration) -> AuthenticatedClient:
        owner = await bearer_owner(self._store, self._auth.lookup, token)
        if owner is None:
            raise invalid_token("the access token is not active")
        scopes = set(owner.token.scope.split())
        if (
            cfg.introspection_access_token_must_have_introspection_scope
            and INTROSPECTION not in scopes
        ):
            raise invalid_token("the access token lacks the introspection scope")
        if (
            cfg.introspection_access_token_must_have_uma_protection_scope
            and UMA_PROTECTION not in scopes
        ):
            raise invalid_token("the access token lacks the uma_protection scope")
        if owner.client is None:
            raise invalid_token("the access token's client no longer exists")
        return AuthenticatedClient(owner.client, "bearer", bearer=owner.token)

    async def _client_live(self, client_id: str, caller: AuthenticatedClient | None) -> bool:
        """A disabled or deleted client's tokens are dead (docs/security.md): whatever raced
        the deletion and stayed in the store is never reported active."""
        if caller is not None and caller.client.client_id == client_id:
            # The usual case, a client asking about its own token: the client this request
            # has just looked up and authenticated (a second lookup cost ~2 us per request).
            return not caller.client.disabled
        client = await self._auth.lookup(client_id)
        return client is not None and not client.disabled

    @staticmethod
    def _claims(record: TokenRecord, cfg: AppConfiguration) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "active": True,
            "scope": record.scope,
            "client_id": record.client_id,
            "sub": record.user_id or record.client_id,
            "iss": cfg.issuer,
            "aud": record.client_id,
            "exp": record.expires_at,
            "iat": record.created_at,
        }
        token_type = _TOKEN_TYPE_NAMES.get(record.token_type)
        if token_type is not None:
            claims["token_type"] = token_type
        username = record.attributes.get("username")
        if username:
            claims["username"] = username
        if record.reference_id:
            claims["jti"] = record.reference_id
        thumbprint = record.attributes.get("x5t#S256")
        if thumbprint:
            claims["cnf"] = {"x5t#S256": thumbprint}
        if record.status_list is not None and record.status_idx is not None:
            # The JWT's own `status` claim (draft-ietf-oauth-status-list section 6.1).
            claims["status"] = StatusRef(record.status_list, record.status_idx).claim(cfg)
        return claims
