"""The token endpoint: authorization_code, client_credentials, password and refresh_token
grants.

All tokens of one grant share a grant id (the revocation cascade key, and the refresh-token
family). Only sha256_hex of each token is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenrevoke.crypto import new_grant_id, new_id, new_token, sha256_hex
from tokenrevoke.model import AppConfiguration, Client, TokenRecord, TokenType, User
from tokenrevoke.model.scope_ids import OPENID
from tokenrevoke.model.session import CodeRedemption
from tokenrevoke.model.token import REDEMPTION, ROTATED_FROM
from tokenrevoke.oauth import pkce
from tokenrevoke.oauth.authz_request import CodeBinding
from tokenrevoke.oauth.client_auth import AuthenticatedClient
from tokenrevoke.oauth.errors import OAuthError, invalid_client, invalid_grant, invalid_request
from tokenrevoke.oauth.id_token import id_token_claims
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.passwords import PasswordChecker
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.revoking import Actor, Reason, grant_of, run
from tokenrevoke.oauth.status_lists import IndexAllocator, StatusRef
from tokenrevoke.oauth.throttle import AuthThrottle
from tokenrevoke.store.base import (
    PreviousRefreshToken,
    Store,
    previous_refresh_verdict,
)

SUPPORTED_GRANTS = ("authorization_code", "client_credentials", "password", "refresh_token")
# `revoked_by` of the tokens of a family revoked because one of its refresh tokens was replayed.
REUSE_DETECTION_ACTOR = Actor.REUSE_DETECTION.value
# `revoked_by` of the tokens issued from an authorization code presented a second time.
CODE_REUSE_ACTOR = Actor.CODE_REUSE_DETECTION.value
# Read once: on Python 3.11 `Enum.MEMBER` costs ~0.3 us a read (EnumType.__getattr__).
_ACCESS_TOKEN, _REFRESH_TOKEN = TokenType.ACCESS_TOKEN, TokenType.REFRESH_TOKEN
log = logging.getLogger("tokenrevoke.tokens")
_MAX_SCOPE_LENGTH = 4096


@dataclass(slots=True)
class _Grant:
    grant_id: str
    grant_type: str
    client: Client
    scopes: list[str]
    user: User | None = None
    auth_time: int | None = None
    cert_thumbprint: str | None = None
    session_id: str | None = None  # the browser session the grant was made in (ssnId)
    nonce: str | None = None  # the authorization request's, for the id_token


def _bad_code() -> OAuthError:
    return invalid_grant("authorization code is invalid, expired or already used")


def _spent() -> OAuthError:
    # One answer for every refresh token that cannot be used: a replayer learns nothing
    # about whether its replay set off reuse detection.
    return invalid_grant("refresh token is invalid, expired or revoked")


@dataclass(frozen=True, slots=True)
class ReusePolicy:
    """Refresh-token reuse detection for one client: its overrides over the properties."""

    detect: bool
    grace_seconds: int

    @classmethod
    def of(cls, client: Client, config: AppConfiguration) -> ReusePolicy:
        detect = client.refresh_token_reuse_detection
        grace = client.refresh_token_reuse_grace_seconds
        return cls(
            detect=bool(config.refresh_token_reuse_detection) if detect is None else detect,
            grace_seconds=int(config.refresh_token_reuse_grace_seconds) if grace is None else grace,
        )

    def verdict(self, presented: TokenRecord, now: int) -> PreviousRefreshToken:
        """What a presented refresh token that is not live is, from its own row. Without
        reuse detection every such token is simply invalid (the grace window is part of
        reuse detection: it only says which replays are forgiven)."""
        if not self.detect:
            return PreviousRefreshToken.INVALID
        return previous_refresh_verdict(presented, now, self.grace_seconds)


class TokenService:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        config: Callable[[], AppConfiguration],
        users: Callable[[str], Any],
        throttle: AuthThrottle,
        status: IndexAllocator | None = None,
    ) -> None:
        self._store = store
        self._keys = keys
        self._config = config
        self._users = users
        self._passwords = PasswordChecker(users, throttle)
        self._status = status

    async def issue(self, auth: AuthenticatedClient, request: OAuthRequest) -> dict[str, Any]:
        grant_type = request.param("grant_type")
        if not grant_type:
            raise invalid_request("grant_type is required")
        if grant_type not in SUPPORTED_GRANTS:
            raise OAuthError(
                400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
            )
        client = auth.client
        if not client.allows_grant(grant_type):
            raise OAuthError(
                400, "unauthorized_client", f"client may not use grant_type {grant_type}"
            )
        if grant_type == "refresh_token":
            return await self._refresh(auth, request)
        if grant_type == "authorization_code":
            return await self._authorization_code(auth, request)
        scopes = self._granted_scopes(client, request.param("scope"))
        binding = self._binding(auth)
        grant = _Grant(new_grant_id(), grant_type, client, scopes, cert_thumbprint=binding)
        if grant_type == "password":
            grant.user = await self._password_user(request)
            grant.auth_time = int(time.time())
        return await self._mint(grant, with_refresh=grant_type == "password")

    def _binding(self, auth: AuthenticatedClient) -> str | None:
        # RFC 8705 section 3: bind when the client asked for it and authenticated with a cert.
        return auth.cert_thumbprint if auth.client.tls_bound_tokens else None

    @staticmethod
    def _granted_scopes(client: Client, requested: str | None) -> list[str]:
        if requested is None:
            return list(client.scopes)
        if len(requested) > _MAX_SCOPE_LENGTH:
            raise invalid_request("scope is too long")
        # Janssen grants the intersection with the client's scopes and drops the rest.
        wanted = list(dict.fromkeys(requested.split()))
        return [s for s in wanted if s in client.scopes]

    async def _password_user(self, request: OAuthRequest) -> User:
        username, password = request.param("username"), request.param("password")
        if not username or password is None:
            raise invalid_request("username and password are required")
        # Per username and address, like client secrets (oauth/throttle.py): 429 before the
        # password is even checked while locked out.
        user = await self._passwords.check(username, password, request.client_addr)
        if user is None:
            raise invalid_grant("invalid username or password")
        return user

    async def _refresh(self, auth: AuthenticatedClient, request: OAuthRequest) -> dict[str, Any]:
        raw = request.param("refresh_token")
        if not raw:
            raise invalid_request("refresh_token is required")
        now = int(time.time())
        old = await self._store.get_token(sha256_hex(raw))
        if (
            old is None
            or old.token_type is not TokenType.REFRESH_TOKEN
            or old.client_id != auth.client.client_id
        ):
            raise _spent()
        policy = ReusePolicy.of(auth.client, self._config())
        live = old.is_live(now)
        if not live:
            # Judged before the request's other parameters, so that a replay with a bad
            # scope or of a disabled user's token still revokes the family.
            verdict = policy.verdict(old, now)
            if verdict is PreviousRefreshToken.REUSED:
                await self._revoke_family(old, now)
            if verdict is not PreviousRefreshToken.REISSUED:
                raise _spent()
        requested = request.param("scope")
        if requested is not None and not set(requested.split()) <= set(old.scope.split()):
            raise OAuthError(400, "invalid_scope", "requested scope exceeds the original grant")
        # The family keeps only what the client holds now: a scope taken from the client
        # since the grant is gone from every token the refresh issues (docs/security.md).
        current = set(auth.client.scopes)
        original = [s for s in old.scope.split() if s in current]
        wanted = original if requested is None else list(dict.fromkeys(requested.split()))
        scopes = [s for s in wanted if s in current]
        user = await self._grant_user(old)
        grant = _Grant(
            old.grant_id, old.grant_type, auth.client, scopes, user=user,
            auth_time=old.attributes.get("auth_time"), cert_thumbprint=self._binding(auth),
            session_id=old.session_id,
        )  # fmt: skip
        # Janssen (refreshTokenExtendLifetimeOnRotation, default false): the rotated refresh
        # token keeps the expiry of the one it replaces, so a grant cannot be kept alive for
        # ever just by refreshing.
        extend = bool(self._config().refresh_token_extend_lifetime_on_rotation)
        status = await self._status_ref(auth.client)
        response, records = self._build(
            grant,
            status=status,
            with_refresh=True,
            keep_refresh_scope=original,
            refresh_expires_at=None if extend else old.expires_at,
            rotated_from=old.code,
        )
        if live and await self._store.rotate_refresh_token(old.code, records, now):
            return response
        if not policy.detect:
            raise _spent()  # a concurrent refresh won
        # Spent by a concurrent refresh, or a grace-window candidate: the store decides,
        # serialised with every other exchange of this token.
        verdict = await self._store.exchange_previous_refresh_token(
            old.code, records, now, policy.grace_seconds
        )
        if verdict is PreviousRefreshToken.REISSUED:
            return response
        if verdict is PreviousRefreshToken.REUSED:
            await self._revoke_family(old, now)
        raise _spent()

    async def _authorization_code(
        self, auth: AuthenticatedClient, request: OAuthRequest
    ) -> dict[str, Any]:
        raw = request.param("code")
        if not raw:
            raise invalid_request("code is required")
        now = int(time.time())
        found = await self._store.get_token(sha256_hex(raw))
        # A code of another client is refused like an unknown one, and revokes nothing:
        # code injection across clients (RFC 9700 section 4.5) learns nothing either.
        if (
            found is None
            or found.token_type is not TokenType.AUTHORIZATION_CODE
            or found.client_id != auth.client.client_id
        ):
            raise _bad_code()
        if not found.is_live(now):
            if found.revoked_by == REDEMPTION:
                await self._revoke_code_grant(found, now)
            raise _bad_code()
        binding = CodeBinding.of(found)
        redirect_uri = request.param("redirect_uri")
        # RFC 6749 section 4.1.3: required, and identical, when the authorization request
        # had it.
        if redirect_uri is None and binding.redirect_uri_given:
            raise invalid_grant("redirect_uri is required: the authorization request had it")
        if redirect_uri is not None and redirect_uri != binding.redirect_uri:
            raise invalid_grant("redirect_uri does not match the authorization request")
        verifier = request.param("code_verifier")
        if binding.code_challenge is None:
            if verifier is not None:  # RFC 9700 section 2.1.1: a PKCE downgrade
                raise invalid_grant("code_verifier given, but the request had no code_challenge")
        elif verifier is None:
            raise invalid_grant("code_verifier is required")
        elif not pkce.verifier_matches(verifier, binding.code_challenge):
            raise invalid_grant("code_verifier does not match the code_challenge")
        user = await self._grant_user(found)
        scopes = [s for s in found.scope.split() if s in auth.client.scopes]
        grant = _Grant(
            found.grant_id, "authorization_code", auth.client, scopes, user=user,
            auth_time=binding.auth_time, cert_thumbprint=self._binding(auth),
            session_id=found.session_id, nonce=binding.nonce,
        )  # fmt: skip
        status = await self._status_ref(auth.client)
        response, records = self._build(grant, with_refresh=True, status=status)
        outcome = await self._store.redeem_code(found.code, records, now)
        if outcome is CodeRedemption.REDEEMED:
            return response
        if outcome is CodeRedemption.SPENT:  # a concurrent exchange of it won: a reuse
            await self._revoke_code_grant(found, now)
        raise _bad_code()

    async def _revoke_code_grant(self, presented: TokenRecord, now: int) -> None:
        """RFC 6749 section 4.1.2: a code used twice SHOULD revoke every token issued from
        it (the OpenID conformance test oidcc-codereuse checks it): its grant."""
        log.warning(
            "authorization code reuse: revoking grant %s of client %s",
            presented.grant_id,
            presented.client_id,
        )
        plan = grant_of(presented, CODE_REUSE_ACTOR, Reason.AUTHORIZATION_CODE_REUSE)
        await run(self._store, plan, now)

    async def _revoke_family(self, presented: TokenRecord, now: int) -> None:
        """RFC 9700 section 4.14.2: a refresh token presented after it was exchanged means
        two parties hold it; the server cannot tell which is legitimate, so the whole grant
        goes (every access, refresh and id token of the family)."""
        log.warning(
            "refresh token reuse: revoking grant %s of client %s",
            presented.grant_id,
            presented.client_id,
        )
        await run(
            self._store, grant_of(presented, REUSE_DETECTION_ACTOR, Reason.REFRESH_TOKEN_REUSE), now
        )

    async def _grant_user(self, record: TokenRecord) -> User | None:
        """The user a refresh token was issued for, who must still exist and be enabled.
        Looked up by username but checked by inum: a deleted user replaced by a new account
        with the same username must not inherit the old account's grants."""
        if record.user_id is None:
            return None
        username = record.attributes.get("username")
        user: User | None = await self._users(username) if isinstance(username, str) else None
        if user is None or user.disabled or user.inum != record.user_id:
            raise invalid_grant("refresh token is invalid, expired or revoked")
        return user

    async def _status_ref(self, client: Client) -> StatusRef | None:
        """The status-list entry of a JWT access token about to be issued (the STATUS_LIST
        flag on), or of an opaque one where the client asks for it, taken before the token
        is built: the same index goes into the JWT's `status` claim and the stored row,
        whose tombstone becomes its bit."""
        wanted = client.access_token_as_jwt or client.wants_status_list_for_opaque_tokens
        if self._status is None or not wanted or not self._status.enabled():
            return None
        return await self._status.allocate(int(time.time()))

    async def _mint(self, grant: _Grant, *, with_refresh: bool) -> dict[str, Any]:
        status = await self._status_ref(grant.client)
        response, records = self._build(grant, with_refresh=with_refresh, status=status)
        if not await self._store.issue_tokens(records):  # deleted since it authenticated
            raise invalid_client("client authentication failed", "the client was deleted")
        return response

    def _build(
        self,
        grant: _Grant,
        *,
        with_refresh: bool,
        keep_refresh_scope: list[str] | None = None,
        refresh_expires_at: int | None = None,
        rotated_from: str | None = None,
        status: StatusRef | None = None,
    ) -> tuple[dict[str, Any], list[TokenRecord]]:
        cfg = self._config()
        client = grant.client
        now = int(time.time())
        subject = grant.user.inum if grant.user else client.client_id
        attributes: dict[str, Any] = {}
        if grant.user:
            attributes["username"] = grant.user.uid
        if grant.auth_time:
            attributes["auth_time"] = grant.auth_time
        if grant.cert_thumbprint:
            attributes["x5t#S256"] = grant.cert_thumbprint

        def record(
            code: str,
            token_type: TokenType,
            lifetime: int,
            scope: list[str],
            jti: str | None = None,
        ) -> TokenRecord:
            return TokenRecord(
                code=code, grant_id=grant.grant_id, client_id=client.client_id,
                token_type=token_type, grant_type=grant.grant_type, created_at=now,
                expires_at=now + lifetime, scope=" ".join(scope),
                user_id=grant.user.inum if grant.user else None,
                user_dn=grant.user.dn if grant.user else None, session_id=grant.session_id,
                reference_id=jti or new_id(), attributes=dict(attributes),
            )  # fmt: skip

        access_lifetime = client.access_token_lifetime or cfg.access_token_lifetime
        jti = None
        if client.access_token_as_jwt:
            jti = new_id()
            claims: dict[str, Any] = {
                "iss": cfg.issuer, "sub": subject, "aud": client.client_id,
                "client_id": client.client_id, "iat": now, "nbf": now,
                "exp": now + access_lifetime, "jti": jti, "scope": " ".join(grant.scopes),
            }  # fmt: skip
            if grant.user:
                claims["username"] = grant.user.uid
            if grant.cert_thumbprint:
                claims["cnf"] = {"x5t#S256": grant.cert_thumbprint}
            if status is not None:  # draft-ietf-oauth-status-list section 6.1
                claims["status"] = status.claim(cfg)
            access = self._keys.sign(claims, typ="at+jwt")
        else:
            access = new_token()
        access_record = record(
            sha256_hex(access), _ACCESS_TOKEN, access_lifetime, grant.scopes, jti
        )
        if status is not None:
            access_record.status_list, access_record.status_idx = status.list_id, status.index
        records = [access_record]
        response: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": access_lifetime,
            "scope": " ".join(grant.scopes),
        }
        if with_refresh and client.allows_grant("refresh_token"):
            refresh = new_token()
            lifetime = client.refresh_token_lifetime or cfg.refresh_token_lifetime
            if refresh_expires_at is not None:
                lifetime = refresh_expires_at - now
            scope = keep_refresh_scope if keep_refresh_scope is not None else grant.scopes
            refresh_record = record(sha256_hex(refresh), _REFRESH_TOKEN, lifetime, scope)
            if rotated_from is not None:
                refresh_record.attributes[ROTATED_FROM] = rotated_from
            records.append(refresh_record)
            response["refresh_token"] = refresh
        if OPENID in grant.scopes and grant.user is not None:
            lifetime = client.id_token_lifetime or cfg.id_token_lifetime
            id_jti = new_id()
            id_token = self._keys.sign(
                id_token_claims(
                    issuer=cfg.issuer, subject=subject, audience=client.client_id,
                    issued_at=now, lifetime=lifetime, auth_time=grant.auth_time or now,
                    jti=id_jti, access_token=access, nonce=grant.nonce, sid=grant.session_id,
                )
            )  # fmt: skip
            records.append(
                record(sha256_hex(id_token), TokenType.ID_TOKEN, lifetime, grant.scopes, id_jti)
            )
            response["id_token"] = id_token
        return response, records
