"""The UserInfo endpoint (OpenID Connect Core section 5.3): the signed-in user's claims, for
a live access token that holds `openid`, sent as a Bearer token (RFC 6750 sections 2.1,
2.2). Errors are RFC 6750 section 3's: 401 with a `WWW-Authenticate` challenge naming
the error, 403 for a missing scope."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import AppConfiguration, FeatureFlag, TokenType
from tokenrevoke.model.scopes import OPENID
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
    def __init__(self, store: Store, config: Callable[[], AppConfiguration]) -> None:
        self._store = store
        self._config = config

    async def claims(self, request: OAuthRequest) -> dict[str, Any]:
        if not self._config().enabled(FeatureFlag.USERINFO):
            raise access_denied("the userinfo endpoint is disabled", "USERINFO is off")
        token = self._token(request)
        record = await self._store.get_token(sha256_hex(token))
        now = int(time.time())
        if (
            record is None
            or record.token_type is not TokenType.ACCESS_TOKEN
            or not record.is_live(now)
            or record.user_id is None
        ):
            raise _invalid_token()
        bound = record.attributes.get("x5t#S256")
        if bound is not None:  # RFC 8705 section 3: only with the certificate it is bound to
            presented = cert_thumbprint(request.client_cert) if request.client_cert else ""
            if not hmac.compare_digest(presented.encode(), str(bound).encode()):
                raise _invalid_token()
        scopes = record.scope.split()
        if OPENID not in scopes:
            raise _bearer_error(403, "insufficient_scope", "the access token lacks openid")
        user = await self._store.get_user(record.user_id)
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
