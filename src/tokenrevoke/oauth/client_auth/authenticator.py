"""Which client authentication method a request presents, and the methods of shared
secrets: client_secret_basic, client_secret_post and `none` here; JWT assertions in
assertion.py, mutual TLS in mtls.py; a bearer access token (oauth/bearer.py) where the
endpoint allows one. Every failure counts against the lockout (oauth/throttle.py)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from urllib.parse import unquote_plus

from cryptography import x509

from tokenrevoke.crypto import SecretBox
from tokenrevoke.model import AuthMethod, Client
from tokenrevoke.oauth.bearer import bearer_owner
from tokenrevoke.oauth.client_auth.assertion import JwtAssertions
from tokenrevoke.oauth.client_auth.mtls import MutualTls
from tokenrevoke.oauth.client_auth.outcome import (
    AUTH_FAILED,
    AuthenticatedClient,
    ClientLookup,
    UnauthenticatedClientId,
    challenge_headers,
    require_usable,
)
from tokenrevoke.oauth.errors import OAuthError, invalid_client, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.throttle import AuthThrottle
from tokenrevoke.store.base import Store as TokenStore

# HTTP Basic credentials that checked out, remembered (at most this many) so that a
# client's next request with the same header skips decoding and the HMAC.
_VERIFIED_BASIC_MAX = 4096
_MTLS_METHODS = (AuthMethod.TLS_CLIENT_AUTH, AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH)


class _Attempt:
    """The client id an authentication attempt claims, once known (for the throttle)."""

    __slots__ = ("address", "client_id")

    def __init__(self, address: str | None) -> None:
        self.client_id: str | None = None
        self.address = address


class ClientAuthenticator:
    def __init__(
        self,
        lookup: ClientLookup,
        store: TokenStore,
        box: SecretBox,
        accepted_audiences: Callable[[], Sequence[str]],
        throttle: AuthThrottle,
        tls_client_ca: Sequence[x509.Certificate] = (),
    ) -> None:
        self._lookup = lookup
        self._throttle = throttle
        self._store = store
        self._box = box
        self._assertions = JwtAssertions(lookup, store, box, accepted_audiences)
        self._mtls = MutualTls(tls_client_ca)
        # sha256 of a Basic header value -> the client it authenticated. Keyed by a digest,
        # so that finding an entry compares digests, never the secret; valid only while the
        # lookup returns the very same Client object (a changed client is a new object).
        self._verified_basic: dict[bytes, AuthenticatedClient] = {}

    async def lookup(self, client_id: str) -> Client | None:
        return await self._lookup(client_id)

    async def close(self) -> None:
        await self._assertions.close()

    async def authenticate(
        self, request: OAuthRequest, *, allow_bearer: bool = False
    ) -> AuthenticatedClient | UnauthenticatedClientId | None:
        """The authenticated client; `UnauthenticatedClientId` when only a non-public
        `client_id` was named; None when no credentials at all were presented. Raises
        invalid_client (401) for credentials that do not check out, and 429 while the
        client id or the client's address is locked out after too many of those."""
        self._throttle.check_address(request.client_addr)
        attempt = _Attempt(request.client_addr)
        try:
            result = await self._identify(request, allow_bearer, attempt)
        except OAuthError as error:
            if error.status == 401:
                error.headers = challenge_headers(request)
                claimed = attempt.client_id
                registered = claimed is not None and await self._lookup(claimed) is not None
                self._throttle.failed(claimed, registered, request.client_addr)
            raise
        if isinstance(result, AuthenticatedClient) and result.bearer is None:
            self._throttle.succeeded(result.client.client_id, request.client_addr)
        return result

    def _claim(self, attempt: _Attempt, client_id: str) -> None:
        """Note the client id a request names; 429 while it is locked out."""
        attempt.client_id = client_id
        self._throttle.check_client(client_id, attempt.address)

    async def _identify(
        self, request: OAuthRequest, allow_bearer: bool, attempt: _Attempt
    ) -> AuthenticatedClient | UnauthenticatedClientId | None:
        auth = request.authorization or ""
        scheme, _, value = auth.partition(" ")
        scheme = scheme.lower()
        params = request.params
        has_assertion = "client_assertion" in params or "client_assertion_type" in params
        has_post_secret = "client_secret" in params
        presented = [scheme == "basic", scheme == "bearer" and allow_bearer, has_assertion,
                     has_post_secret]  # fmt: skip
        if sum(presented) > 1:
            raise invalid_request("more than one client authentication method was used")
        if scheme == "basic":
            return await self._basic(value.strip(), attempt)
        if scheme == "bearer" and allow_bearer:
            return await self._bearer(value.strip())
        if has_assertion:
            return await self._assertions.authenticate(
                request, lambda client_id: self._claim(attempt, client_id)
            )
        client_id = params.get("client_id")
        if has_post_secret:
            return await self._secret(
                client_id or "", params["client_secret"], AuthMethod.CLIENT_SECRET_POST, attempt
            )
        if not client_id:
            return None
        self._claim(attempt, client_id)
        client = await self._lookup(client_id)
        if client is not None and not client.disabled:
            if client.auth_method in _MTLS_METHODS:
                return self._mtls.authenticate(client, request.client_cert)
            if client.is_public:
                return AuthenticatedClient(client, AuthMethod.NONE.value)
        return UnauthenticatedClientId(client_id)

    # -- shared secrets ---------------------------------------------------------------
    async def _basic(self, value: str, attempt: _Attempt) -> AuthenticatedClient:
        key = hashlib.sha256(value.encode("latin-1")).digest()
        known = self._verified_basic.get(key)
        if known is not None:
            self._claim(attempt, known.client.client_id)  # 429 during a lockout, as below
            if await self._lookup(known.client.client_id) is known.client:
                return known
            # Concurrent requests with the same header may both get here (the lookup
            # awaits): the first one removes the entry.
            self._verified_basic.pop(key, None)
        verified = await self._verify_basic(value, attempt)
        if len(self._verified_basic) >= _VERIFIED_BASIC_MAX:
            self._verified_basic.clear()
        self._verified_basic[key] = verified
        return verified

    async def _verify_basic(self, value: str, attempt: _Attempt) -> AuthenticatedClient:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except ValueError:  # bad base64 (binascii.Error), non-ASCII header bytes, bad UTF-8
            raise invalid_client("malformed HTTP Basic credentials") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise invalid_client("malformed HTTP Basic credentials")
        # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
        return await self._secret(
            unquote_plus(user), unquote_plus(password), AuthMethod.CLIENT_SECRET_BASIC, attempt
        )

    async def _secret(
        self, client_id: str, secret: str, method: AuthMethod, attempt: _Attempt
    ) -> AuthenticatedClient:
        if client_id:
            self._claim(attempt, client_id)
        client = await self._lookup(client_id) if client_id else None
        # Check the secret even for an unknown client so timing does not reveal which exist.
        ok = self._box.verify_secret(secret, client.secret_hash if client else None)
        if client is None or not ok:
            raise invalid_client(AUTH_FAILED, "unknown client or wrong secret")
        require_usable(client, method)
        return AuthenticatedClient(client, method.value)

    # -- a bearer access token (Janssen accepts one at /revoke) -------------------------
    async def _bearer(self, token: str) -> AuthenticatedClient:
        owner = await bearer_owner(self._store, self._lookup, token)
        if owner is None:
            raise invalid_client(AUTH_FAILED, "bearer token is not active")
        if owner.client is None:
            raise invalid_client(AUTH_FAILED, "bearer token's client is unknown")
        return AuthenticatedClient(owner.client, "bearer", bearer=owner.token)


__all__ = ["ClientAuthenticator"]
