"""JWT client assertions (RFC 7523 section 2.2): client_secret_jwt (HMAC with the client's
secret) and private_key_jwt (the client's registered JWKS, or its jwks_uri, fetched and
cached here). A used `jti` is remembered in the store until the assertion expires, so an
assertion is accepted once."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import jwt

from tokenrevoke.crypto import SecretBox
from tokenrevoke.model import AuthMethod, Client
from tokenrevoke.oauth.client_auth.outcome import (
    AUTH_FAILED,
    AuthenticatedClient,
    ClientLookup,
    require_usable,
)
from tokenrevoke.oauth.errors import invalid_client
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.store.base import Store

log = logging.getLogger("tokenrevoke.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HMAC_ALGS = ["HS256", "HS384", "HS512"]
_KEY_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
_CLOCK_SKEW = 30
_JWKS_CACHE_SECONDS = 300
_JWKS_REFETCH_SECONDS = 10  # at most this often on an unknown kid
# After a failed fetch, no other for this long: assertions (unauthenticated) must not make
# the server hit a jwks_uri on every request.
_JWKS_FAILURE_SECONDS = 10
_ALG_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
# Bounds on an assertion, checked before its signature: a used `jti` is stored until the
# assertion expires, so neither may be unbounded (an hour covers common clients'
# lifetimes: Authlib's default is 3600 s, openid-client's 60 s).
MAX_ASSERTION_LIFETIME = 3600
MAX_JTI_LENGTH = 256


class JwtAssertions:
    def __init__(
        self,
        lookup: ClientLookup,
        store: Store,
        box: SecretBox,
        accepted_audiences: Callable[[], Sequence[str]],
    ) -> None:
        self._lookup = lookup
        self._store = store
        self._box = box
        self._audiences = accepted_audiences
        self._jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks_failed: dict[str, float] = {}  # jwks_uri -> when its last fetch failed
        self._http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def authenticate(
        self, request: OAuthRequest, claim: Callable[[str], None]
    ) -> AuthenticatedClient:
        """`claim` is told the client id the assertion names, before any client-specific
        step (the throttle's lockout check)."""
        params = request.params
        if params.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid_client("unsupported client_assertion_type")
        assertion = params.get("client_assertion") or ""
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise invalid_client("client_assertion is not a valid JWT") from None
        client_id = unverified.get("sub")
        if not isinstance(client_id, str) or unverified.get("iss") != client_id:
            raise invalid_client("client_assertion must have iss and sub equal to the client_id")
        if params.get("client_id") not in (None, client_id):
            raise invalid_client("client_id does not match the client_assertion")
        _check_assertion_bounds(unverified, int(time.time()))
        claim(client_id)
        # From here on every failure reads the same, whatever the client: which clients
        # exist, and which use assertions, is not told to an unauthenticated caller (the
        # reason, with errorReasonEnabled, says which check failed).
        client = await self._lookup(client_id)
        if client is None:
            raise invalid_client(AUTH_FAILED, "unknown client")
        if client.auth_method not in (AuthMethod.CLIENT_SECRET_JWT, AuthMethod.PRIVATE_KEY_JWT):
            raise invalid_client(
                AUTH_FAILED,
                f"client is registered for {client.auth_method.value}, not a JWT assertion",
            )
        require_usable(client, client.auth_method)
        keys: list[Any]
        if client.auth_method is AuthMethod.CLIENT_SECRET_JWT:
            keys = [self._raw_secret(client)]
            algorithms = _HMAC_ALGS
        else:
            keys = await self._client_keys(client, header.get("kid"), header.get("alg"))
            algorithms = _KEY_ALGS
        audiences = [*self._audiences(), request.endpoint]
        claims = _decode_assertion(assertion, keys, algorithms, audiences)
        expires = int(claims["exp"]) + _CLOCK_SKEW  # bounded by _check_assertion_bounds
        if not await self._store.remember_jti(client_id, str(claims["jti"]), expires):
            raise invalid_client("client_assertion was already used", "replayed jti")
        return AuthenticatedClient(client, client.auth_method.value)

    def _raw_secret(self, client: Client) -> str:
        if not client.secret_encrypted:
            raise invalid_client(AUTH_FAILED, "client has no secret")
        return self._box.decrypt(client.secret_encrypted, f"client-secret:{client.client_id}")

    async def _client_keys(self, client: Client, kid: Any, alg: Any) -> list[Any]:
        if client.jwks:
            return _matching_keys(client.jwks, kid, alg)
        if not client.jwks_uri:
            raise invalid_client(AUTH_FAILED, "client has no keys registered")
        keys = _matching_keys(await self._fetch_jwks(client.jwks_uri), kid, alg)
        if not keys and alg in _KEY_ALGS:
            # The client may have rotated its keys: look again (at most every few seconds).
            keys = _matching_keys(await self._fetch_jwks(client.jwks_uri, refresh=True), kid, alg)
        return keys

    async def _fetch_jwks(self, uri: str, *, refresh: bool = False) -> dict[str, Any] | None:
        cached = self._jwks_cache.get(uri)
        now = time.monotonic()
        max_age = _JWKS_REFETCH_SECONDS if refresh else _JWKS_CACHE_SECONDS
        if cached and now - cached[0] < max_age:
            return cached[1]
        failed_at = self._jwks_failed.get(uri)
        if failed_at is not None and now - failed_at < _JWKS_FAILURE_SECONDS:
            return cached[1] if cached else None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        try:
            response = await self._http.get(uri)
            response.raise_for_status()
            jwks = response.json()
            if not isinstance(jwks, dict):
                raise ValueError("the JWKS document is not a JSON object")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not fetch jwks_uri %s: %s", uri, exc)
            self._jwks_failed[uri] = now  # do not retry on every request
            return cached[1] if cached else None
        self._jwks_failed.pop(uri, None)
        self._jwks_cache[uri] = (now, jwks)
        return jwks


def _decode_assertion(
    assertion: str, keys: list[Any], algorithms: list[str], audiences: list[str]
) -> dict[str, Any]:
    """Verify with the first key whose signature checks out (without a `kid`, a client
    with several keys of one type is tried key by key)."""
    problem = "no registered key matches the assertion's kid and alg"
    for key in keys:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion, key, algorithms=algorithms, audience=audiences,
                leeway=_CLOCK_SKEW, options={"require": ["exp", "jti", "aud", "iss", "sub"]},
            )  # fmt: skip
            return claims
        except jwt.InvalidSignatureError as exc:
            problem = str(exc)
        except jwt.PyJWTError as exc:
            raise invalid_client(AUTH_FAILED, f"client_assertion: {exc}") from None
    raise invalid_client(AUTH_FAILED, f"client_assertion: {problem}")


def _check_assertion_bounds(claims: dict[str, Any], now: int) -> None:
    """Reject, before any client-specific step, an assertion whose times are no finite
    NumericDate (RFC 7519 section 2), that expires too far ahead, or whose `jti` is not a
    short string: such values would overflow or be stored."""
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if value is None and name != "exp":
            continue
        # JSON numbers become ints of any size (compared exactly) or floats (maybe inf).
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid_client(f"client_assertion {name} must be a NumericDate")
        if isinstance(value, float) and not math.isfinite(value):
            raise invalid_client(f"client_assertion {name} must be a NumericDate")
    if claims["exp"] > now + MAX_ASSERTION_LIFETIME + _CLOCK_SKEW:
        raise invalid_client(
            f"client_assertion exp may be at most {MAX_ASSERTION_LIFETIME} seconds ahead"
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise invalid_client(
            f"client_assertion jti must be a string of 1 to {MAX_JTI_LENGTH} characters"
        )


def _matching_keys(jwks: dict[str, Any] | None, kid: Any, alg: Any) -> list[Any]:
    """The client's public keys that can verify an assertion with this `kid` and `alg`:
    signing keys of the algorithm's key type (and curve), with the same `alg` if the JWK
    names one. Never a symmetric key; never `alg: none`."""
    if not isinstance(alg, str) or alg not in _KEY_ALGS:
        return []
    entries = (jwks or {}).get("keys")
    if not isinstance(entries, list):
        return []
    keys: list[Any] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if kid is not None and entry.get("kid") != kid:
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", alg) != alg:
            continue
        if entry.get("kty") != _ALG_KEY_TYPES[alg[:2]]:
            continue
        if alg in _EC_CURVES and entry.get("crv") != _EC_CURVES[alg]:
            continue
        try:
            key = jwt.PyJWK(entry, alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        # A JWKS that (wrongly) carries private parameters: verify with the public half.
        keys.append(key.public_key() if hasattr(key, "public_key") else key)
    return keys


__all__ = ["ASSERTION_TYPE", "MAX_ASSERTION_LIFETIME", "MAX_JTI_LENGTH", "JwtAssertions"]
