"""Client authentication, shared by the token, revocation and introspection endpoints.

Supported: client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt
(RFC 7523, replayed `jti` rejected), tls_client_auth and self_signed_tls_client_auth
(RFC 8705), `none` for public clients, and, where the endpoint allows it (Janssen's
/revoke), a Bearer access token owned by the client. A client may only use the method it
is registered for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import httpx
import jwt
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tokenrevoke.crypto import SecretBox, sha256_hex
from tokenrevoke.model import AuthMethod, Client, TokenRecord, TokenType
from tokenrevoke.oauth.errors import OAuthError, invalid_client, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.store.base import Store as TokenStore

log = logging.getLogger("tokenrevoke.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HMAC_ALGS = ["HS256", "HS384", "HS512"]
_KEY_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
_CLOCK_SKEW = 30
_JWKS_CACHE_SECONDS = 300

ClientLookup = Callable[[str], Awaitable[Client | None]]


@dataclass(slots=True)
class AuthenticatedClient:
    client: Client
    method: str  # an AuthMethod value, or "bearer"
    cert_thumbprint: str | None = None  # x5t#S256 of the certificate used, for binding
    bearer: TokenRecord | None = None


@dataclass(slots=True)
class UnauthenticatedClientId:
    """Only a `client_id` was sent, naming no public client (Janssen: 200, nothing done)."""

    client_id: str


def cert_thumbprint(der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def _normalise_dn(dn: str) -> list[str]:
    parts = []
    for rdn in dn.replace(";", ",").split(","):
        if "=" in rdn:
            attr, _, value = rdn.partition("=")
            parts.append(f"{attr.strip().casefold()}={value.strip().casefold()}")
    return parts


class ClientAuthenticator:
    def __init__(
        self,
        lookup: ClientLookup,
        store: TokenStore,
        box: SecretBox,
        accepted_audiences: Callable[[], Sequence[str]],
        tls_client_ca: Sequence[x509.Certificate] = (),
    ) -> None:
        self._lookup = lookup
        self._store = store
        self._box = box
        self._audiences = accepted_audiences
        self._ca_store = Store(list(tls_client_ca)) if tls_client_ca else None
        self._jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._http: httpx.AsyncClient | None = None

    async def lookup(self, client_id: str) -> Client | None:
        return await self._lookup(client_id)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def authenticate(
        self, request: OAuthRequest, *, allow_bearer: bool = False
    ) -> AuthenticatedClient | UnauthenticatedClientId | None:
        """The authenticated client; `UnauthenticatedClientId` when only a non-public
        `client_id` was named; None when no credentials at all were presented. Raises
        invalid_client (401) for credentials that do not check out."""
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
            return await self._basic(value.strip())
        if scheme == "bearer" and allow_bearer:
            return await self._bearer(value.strip())
        if has_assertion:
            return await self._assertion(request)
        client_id = params.get("client_id")
        if has_post_secret:
            return await self._secret(client_id or "", params["client_secret"], AuthMethod.CLIENT_SECRET_POST)
        if not client_id:
            return None
        client = await self._lookup(client_id)
        if client is not None and not client.disabled:
            if client.auth_method in (AuthMethod.TLS_CLIENT_AUTH, AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH):
                return self._mtls(client, request.client_cert)
            if client.is_public:
                return AuthenticatedClient(client, AuthMethod.NONE.value)
        return UnauthenticatedClientId(client_id)

    # -- shared secrets ---------------------------------------------------------------
    async def _basic(self, value: str) -> AuthenticatedClient:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_client("malformed HTTP Basic credentials") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise invalid_client("malformed HTTP Basic credentials")
        # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
        return await self._secret(unquote_plus(user), unquote_plus(password), AuthMethod.CLIENT_SECRET_BASIC)

    async def _secret(self, client_id: str, secret: str, method: AuthMethod) -> AuthenticatedClient:
        client = await self._lookup(client_id) if client_id else None
        # Check the secret even for an unknown client so timing does not reveal which exist.
        ok = self._box.verify_secret(secret, client.secret_hash if client else None)
        if client is None or not ok:
            raise invalid_client("client authentication failed", "unknown client or wrong secret")
        self._require_usable(client, method)
        return AuthenticatedClient(client, method.value)

    def _require_usable(self, client: Client, method: AuthMethod) -> None:
        if client.disabled:
            raise invalid_client("client authentication failed", "client is disabled")
        if client.auth_method is not method:
            raise invalid_client(
                "client authentication failed",
                f"client is registered for {client.auth_method.value}, not {method.value}",
            )

    # -- bearer token (Janssen accepts one at /revoke) --------------------------------
    async def _bearer(self, token: str) -> AuthenticatedClient:
        record = await self._store.get_token(sha256_hex(token)) if token else None
        now = int(time.time())
        if (
            record is None
            or record.token_type is not TokenType.ACCESS_TOKEN
            or not record.is_live(now)
        ):
            raise invalid_client("client authentication failed", "bearer token is not active")
        client = await self._lookup(record.client_id)
        if client is None or client.disabled:
            raise invalid_client("client authentication failed", "bearer token's client is unknown")
        return AuthenticatedClient(client, "bearer", bearer=record)

    # -- JWT assertions (RFC 7523) ----------------------------------------------------
    async def _assertion(self, request: OAuthRequest) -> AuthenticatedClient:
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
        client = await self._lookup(client_id)
        if client is None:
            raise invalid_client("client authentication failed", "unknown client")
        if client.auth_method is AuthMethod.CLIENT_SECRET_JWT:
            key: Any = self._raw_secret(client)
            algorithms = _HMAC_ALGS
        elif client.auth_method is AuthMethod.PRIVATE_KEY_JWT:
            key = await self._client_key(client, header.get("kid"), header.get("alg"))
            algorithms = _KEY_ALGS
        else:
            raise invalid_client(
                "client authentication failed",
                f"client is registered for {client.auth_method.value}, not a JWT assertion",
            )
        self._require_usable(client, client.auth_method)
        audiences = [*self._audiences(), request.endpoint]
        try:
            claims = jwt.decode(
                assertion, key, algorithms=algorithms, audience=audiences, leeway=_CLOCK_SKEW,
                options={"require": ["exp", "jti", "aud", "iss", "sub"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise invalid_client("client_assertion is not valid", str(exc)) from None
        if not await self._store.remember_jti(client_id, str(claims["jti"]), int(claims["exp"]) + _CLOCK_SKEW):
            raise invalid_client("client_assertion was already used", "replayed jti")
        return AuthenticatedClient(client, client.auth_method.value)

    def _raw_secret(self, client: Client) -> str:
        if not client.secret_encrypted:
            raise invalid_client("client authentication failed", "client has no secret")
        return self._box.decrypt(client.secret_encrypted, f"client-secret:{client.client_id}")

    async def _client_key(self, client: Client, kid: Any, alg: Any) -> Any:
        jwks = client.jwks or (await self._fetch_jwks(client.jwks_uri) if client.jwks_uri else None)
        if not jwks:
            raise invalid_client("client authentication failed", "client has no keys registered")
        try:
            keyset = jwt.PyJWKSet.from_dict(jwks)
        except jwt.PyJWTError:
            raise invalid_client("client authentication failed", "client keys are invalid") from None
        candidates = [k for k in keyset.keys if kid is None or k.key_id == kid]
        if not candidates:
            raise invalid_client("client authentication failed", "no client key matches the kid")
        return candidates[0].key

    async def _fetch_jwks(self, uri: str) -> dict[str, Any] | None:
        cached = self._jwks_cache.get(uri)
        now = time.monotonic()
        if cached and now - cached[0] < _JWKS_CACHE_SECONDS:
            return cached[1]
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        try:
            response = await self._http.get(uri)
            response.raise_for_status()
            jwks: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not fetch jwks_uri %s: %s", uri, exc)
            return cached[1] if cached else None
        self._jwks_cache[uri] = (now, jwks)
        return jwks

    # -- mutual TLS (RFC 8705) --------------------------------------------------------
    def _mtls(self, client: Client, cert_der: bytes | None) -> AuthenticatedClient:
        if cert_der is None:
            raise invalid_client("client authentication failed", "no client certificate presented")
        try:
            cert = x509.load_der_x509_certificate(cert_der)
        except ValueError:
            raise invalid_client("client authentication failed", "unreadable client certificate") from None
        thumbprint = cert_thumbprint(cert_der)
        if client.auth_method is AuthMethod.TLS_CLIENT_AUTH:
            self._verify_pki(client, cert)
        else:
            registered = {cert_thumbprint(d) for d in jwks_certificates(client.jwks)}
            if thumbprint not in registered:
                raise invalid_client(
                    "client authentication failed", "certificate is not one the client registered"
                )
        return AuthenticatedClient(client, client.auth_method.value, cert_thumbprint=thumbprint)

    def _verify_pki(self, client: Client, cert: x509.Certificate) -> None:
        # The TLS layer may also trust clients' self-signed certificates; tls_client_auth
        # must chain to the configured CA only, so the chain is checked again here.
        if self._ca_store is None:
            raise invalid_client("client authentication failed", "no client CA is configured")
        try:
            verifier = PolicyBuilder().store(self._ca_store).build_client_verifier()
            verifier.verify(cert, [])
        except VerificationError as exc:
            raise invalid_client("client authentication failed", f"certificate: {exc}") from None
        expected = client.tls_subject_dn or ""
        if not expected or _normalise_dn(cert.subject.rfc4514_string()) != _normalise_dn(expected):
            raise invalid_client("client authentication failed", "certificate subject DN mismatch")


def jwks_certificates(jwks: dict[str, Any] | None) -> list[bytes]:
    out = []
    for key in (jwks or {}).get("keys", []):
        for b64 in key.get("x5c", [])[:1]:
            try:
                out.append(base64.b64decode(b64))
            except (binascii.Error, TypeError):
                continue
    return out


def require_client(
    result: AuthenticatedClient | UnauthenticatedClientId | None,
) -> AuthenticatedClient:
    """For endpoints where only an authenticated client will do."""
    if isinstance(result, AuthenticatedClient):
        return result
    raise invalid_client("client authentication is required")


__all__ = [
    "AuthenticatedClient",
    "ClientAuthenticator",
    "OAuthError",
    "UnauthenticatedClientId",
    "cert_thumbprint",
    "jwks_certificates",
    "require_client",
]
