"""The UserInfo endpoint (OpenID Connect Core section 5.3): the signed-in user's claims, for
a live access token that holds `openid`, sent as a Bearer token (RFC 6750 sections 2.1,
2.2). Errors are RFC 6750 section 3's: 401 with a `WWW-Authenticate` challenge naming
the error, 403 for a missing scope."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from tokenrevoke.model import AppConfiguration, Client, FeatureFlag
from tokenrevoke.model.scope_ids import OPENID
from tokenrevoke.oauth.bearer import bearer_owner
from tokenrevoke.oauth.client_auth import cert_thumbprint
from tokenrevoke.oauth.errors import OAuthError, access_denied
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.store import Store


def _bearer_error(status: int, error: str, description: str) -> OAuthError:
    challenge = f'Bearer realm="jans-auth", error="{error}", error_description="{description}"'
    return OAuthError(status, error, description, headers={"WWW-Authenticate": challenge})


def _invalid_token() -> OAuthError:
    return _bearer_error(401, "invalid_token", "the access token is invalid, expired or revoked")


class UserInfoService:
    def __init__(
        self,
        store: Store,
        clients: Callable[[str], Awaitable[Client | None]],
        config: Callable[[], AppConfiguration],
    ) -> None:
        self._store = store
        self._clients = clients
        self._config = config

    async def claims(self, request: OAuthRequest) -> dict[str, Any]:
        if not self._config().enabled(FeatureFlag.USERINFO):
            raise access_denied("the userinfo endpoint is disabled", "USERINFO is off")
        token = self._token(request)
        owner = await bearer_owner(self._store, self._clients, token)
        # A token of a disabled or deleted client is void here as everywhere.
        if owner is None or owner.client is None or owner.token.user_id is None:
            raise _invalid_token()
        record = owner.token
        bound = record.attributes.get("x5t#S256")
        if bound is not None:  # RFC 8705 section 3: only with the certificate it is bound to
            presented = cert_thumbprint(request.client_cert) if request.client_cert else ""
            if not hmac.compare_digest(presented.encode(), str(bound).encode()):
                raise _invalid_token()
        scopes = record.scope.split()
        if OPENID not in scopes:
            raise _bearer_error(403, "insufficient_scope", "the access token lacks openid")
        user = await self._store.get_user(owner.token.user_id)
        if user is None or user.disabled:
            raise _invalid_token()
        # OpenID Connect Core 5.4: the claims each scope asks for, of those a user has here.
        claims: dict[str, Any] = {"sub": user.inum}
        if "profile" in scopes:
            claims["preferred_username"] = user.uid
            if user.display_name:
                claims["name"] = user.display_name
        if "email" in scopes and user.email:
            claims["email"] = user.email
        return claims

    @staticmethod
    def _token(request: OAuthRequest) -> str:
        header = request.authorization
        in_body = request.param("access_token")
        if header is not None and in_body is not None:  # RFC 6750 section 2: one method
            raise _bearer_error(400, "invalid_request", "more than one access token was sent")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise _bearer_error(401, "invalid_token", "use the Bearer scheme")
            return value.strip()
        if in_body:
            return in_body
        # RFC 6750 section 3.1: no credentials at all gets a bare challenge.
        raise OAuthError(
            401,
            "invalid_token",
            "an access token is required",
            headers={"WWW-Authenticate": 'Bearer realm="jans-auth"'},
        )
