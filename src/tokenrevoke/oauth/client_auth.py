"""Client authentication, shared by the token, revocation and introspection endpoints.

Supported: client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt
(RFC 7523, replayed `jti` rejected), tls_client_auth and self_signed_tls_client_auth
(RFC 8705), `none` for public clients, and, where the endpoint allows it (Janssen's
/revoke), a Bearer access token owned by the client. A client may only use the method it
is registered for.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import httpx
import jwt
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from tokenrevoke.crypto import SecretBox, sha256_hex
from tokenrevoke.model import AuthMethod, Client, TokenRecord, TokenType
from tokenrevoke.oauth.errors import OAuthError, challenge_for, invalid_client, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.throttle import AuthThrottle
from tokenrevoke.store.base import Store as TokenStore

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
# HTTP Basic credentials that checked out, remembered (at most this many) so that a
# client's next request with the same header skips decoding and the HMAC.
_VERIFIED_BASIC_MAX = 4096
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_AUTH_FAILED = "client authentication failed"
# Bounds on an assertion, checked before its signature: a used `jti` is stored until the
# assertion expires, so neither may be unbounded (an hour covers common clients'
# lifetimes: Authlib's default is 3600 s, openid-client's 60 s).
MAX_ASSERTION_LIFETIME = 3600
MAX_JTI_LENGTH = 256

ClientLookup = Callable[[str], Awaitable[Client | None]]


@dataclass(slots=True)
class AuthenticatedClient:
    client: Client
    method: str  # an AuthMethod value, or "bearer"
    cert_thumbprint: str | None = None  # x5t#S256 of the certificate used, for binding
    bearer: TokenRecord | None = None


class _Attempt:
    """The client id an authentication attempt claims, once known (for the throttle)."""

    __slots__ = ("address", "client_id")

    def __init__(self, address: str | None) -> None:
        self.client_id: str | None = None
        self.address = address


@dataclass(slots=True)
class UnauthenticatedClientId:
    """Only a `client_id` was sent, naming no public client: no client is authenticated
    (each endpoint answers 401 invalid_client; Janssen's /revoke answered 200)."""

    client_id: str


def cert_thumbprint(der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


# Attribute names a registered subject DN may use (case-insensitive), besides dotted OIDs.
# Janssen parses the DN with Bouncy Castle's BCStyle; these are the names in common use.
_DN_NAMES: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "SURNAME": NameOID.SURNAME,
    "POSTALCODE": NameOID.POSTAL_CODE,
    "DNQ": NameOID.DN_QUALIFIER,
    "DNQUALIFIER": NameOID.DN_QUALIFIER,
    "BUSINESSCATEGORY": NameOID.BUSINESS_CATEGORY,
    "ORGANIZATIONIDENTIFIER": x509.ObjectIdentifier("2.5.4.97"),
}
_DOTTED_OID = re.compile(r"(?:OID\.)?([0-2](?:\.[0-9]+)+)", re.IGNORECASE)
_HEX = frozenset("0123456789abcdefABCDEF")

DnKey = list[tuple[str, str]]


def _normalise_value(value: str) -> str:
    # As Bouncy Castle's canonical form: case-insensitive, whitespace runs collapsed.
    return " ".join(value.split()).casefold()


def _split_unescaped(text: str, separators: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = quoted = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch in separators and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unescape_dn_value(raw: str) -> str:
    """RFC 4514 (and RFC 2253 quoted) value escapes: `\\,`, `\\+`, `\\XX` UTF-8 bytes."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
                out.append(int(pair, 16))
                i += 3
                continue
            out += text[i + 1].encode()
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", "replace")


def parse_subject_dn(dn: str) -> DnKey | None:
    """A registered subject DN as a sorted list of (OID, normalised value); None when it
    cannot be parsed. Order-insensitive, as Janssen's `CertUtils.equalsRdn` (Bouncy
    Castle's X500Name equality), so `CN=a, O=b, C=US` and `C=US,O=b,CN=a` are the same DN;
    escaped separators (`O=Example\\, Inc.`) are part of the value."""
    attributes: DnKey = []
    for rdn in _split_unescaped(dn, ",;"):
        if not rdn.strip():
            continue
        for ava in _split_unescaped(rdn, "+"):
            name, sep, value = ava.partition("=")
            if not sep:
                return None
            name = name.strip()
            oid = _DN_NAMES.get(name.upper())
            if oid is not None:
                dotted = oid.dotted_string
            elif match := _DOTTED_OID.fullmatch(name):
                dotted = match.group(1)
            else:
                return None
            attributes.append((dotted, _normalise_value(_unescape_dn_value(value))))
    return sorted(attributes) or None


def certificate_subject_key(cert: x509.Certificate) -> DnKey:
    out: DnKey = []
    for attribute in cert.subject:
        value = attribute.value
        text = value if isinstance(value, str) else value.hex()
        out.append((attribute.oid.dotted_string, _normalise_value(text)))
    return sorted(out)


def _client_cert_policy() -> PolicyBuilder:
    """The chain policy for tls_client_auth certificates.

    cryptography's client verifier applies the CA/Browser Forum Web PKI profile, which
    requires a subjectAltName (and an authorityKeyIdentifier) on the leaf. Client
    certificates from private and enterprise CAs often have neither: RFC 8705
    tls_client_auth identifies the client by its subject DN. Both are allowed to be
    absent here; everything else stays as the profile has it (signature chain to the
    configured CA, validity period, CA basic constraints and key usage, and an
    extendedKeyUsage, when present, that allows clientAuth).
    """
    ee_policy = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    )
    return PolicyBuilder().extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy
    )


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
        self._audiences = accepted_audiences
        self._ca_store = Store(list(tls_client_ca)) if tls_client_ca else None
        self._jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks_failed: dict[str, float] = {}  # jwks_uri -> when its last fetch failed
        self._http: httpx.AsyncClient | None = None
        # sha256 of a Basic header value -> the client it authenticated. Keyed by a digest,
        # so that finding an entry compares digests, never the secret; valid only while the
        # lookup returns the very same Client object (a changed client is a new object).
        self._verified_basic: dict[bytes, AuthenticatedClient] = {}

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
            return await self._assertion(request, attempt)
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
            if client.auth_method in (
                AuthMethod.TLS_CLIENT_AUTH,
                AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH,
            ):
                return self._mtls(client, request.client_cert)
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
            raise invalid_client(_AUTH_FAILED, "unknown client or wrong secret")
        self._require_usable(client, method)
        return AuthenticatedClient(client, method.value)

    def _require_usable(self, client: Client, method: AuthMethod) -> None:
        if client.disabled:
            raise invalid_client(_AUTH_FAILED, "client is disabled")
        if client.auth_method is not method:
            raise invalid_client(
                _AUTH_FAILED,
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
            raise invalid_client(_AUTH_FAILED, "bearer token is not active")
        client = await self._lookup(record.client_id)
        if client is None or client.disabled:
            raise invalid_client(_AUTH_FAILED, "bearer token's client is unknown")
        return AuthenticatedClient(client, "bearer", bearer=record)

    # -- JWT assertions (RFC 7523) ----------------------------------------------------
    async def _assertion(self, request: OAuthRequest, attempt: _Attempt) -> AuthenticatedClient:
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
        self._claim(attempt, client_id)
        # From here on every failure reads the same, whatever the client: which clients
        # exist, and which use assertions, is not told to an unauthenticated caller (the
        # reason, with errorReasonEnabled, says which check failed).
        client = await self._lookup(client_id)
        if client is None:
            raise invalid_client(_AUTH_FAILED, "unknown client")
        if client.auth_method not in (AuthMethod.CLIENT_SECRET_JWT, AuthMethod.PRIVATE_KEY_JWT):
            raise invalid_client(
                _AUTH_FAILED,
                f"client is registered for {client.auth_method.value}, not a JWT assertion",
            )
        self._require_usable(client, client.auth_method)
        keys: list[Any]
        if client.auth_method is AuthMethod.CLIENT_SECRET_JWT:
            keys = [self._raw_secret(client)]
            algorithms = _HMAC_ALGS
        else:
            keys = await self._client_keys(client, header.get("kid"), header.get("alg"))
            algorithms = _KEY_ALGS
        audiences = [*self._audiences(), request.endpoint]
        claims = self._decode_assertion(assertion, keys, algorithms, audiences)
        expires = int(claims["exp"]) + _CLOCK_SKEW  # bounded by _check_assertion_bounds
        if not await self._store.remember_jti(client_id, str(claims["jti"]), expires):
            raise invalid_client("client_assertion was already used", "replayed jti")
        return AuthenticatedClient(client, client.auth_method.value)

    @staticmethod
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
                raise invalid_client(_AUTH_FAILED, f"client_assertion: {exc}") from None
        raise invalid_client(_AUTH_FAILED, f"client_assertion: {problem}")

    def _raw_secret(self, client: Client) -> str:
        if not client.secret_encrypted:
            raise invalid_client(_AUTH_FAILED, "client has no secret")
        return self._box.decrypt(client.secret_encrypted, f"client-secret:{client.client_id}")

    async def _client_keys(self, client: Client, kid: Any, alg: Any) -> list[Any]:
        if client.jwks:
            return _matching_keys(client.jwks, kid, alg)
        if not client.jwks_uri:
            raise invalid_client(_AUTH_FAILED, "client has no keys registered")
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

    # -- mutual TLS (RFC 8705) --------------------------------------------------------
    def _mtls(self, client: Client, cert_der: bytes | None) -> AuthenticatedClient:
        if cert_der is None:
            raise invalid_client(_AUTH_FAILED, "no client certificate presented")
        try:
            cert = x509.load_der_x509_certificate(cert_der)
        except ValueError:
            raise invalid_client(_AUTH_FAILED, "unreadable client certificate") from None
        thumbprint = cert_thumbprint(cert_der)
        if client.auth_method is AuthMethod.TLS_CLIENT_AUTH:
            self._verify_pki(client, cert)
        else:
            registered = {cert_thumbprint(d) for d in jwks_certificates(client.jwks)}
            if thumbprint not in registered:
                raise invalid_client(_AUTH_FAILED, "certificate is not one the client registered")
        return AuthenticatedClient(client, client.auth_method.value, cert_thumbprint=thumbprint)

    def _verify_pki(self, client: Client, cert: x509.Certificate) -> None:
        # The TLS layer may also trust clients' self-signed certificates; tls_client_auth
        # must chain to the configured CA only, so the chain is checked again here. (A
        # certificate from a trusted TLS proxy's header has not been checked at all yet.)
        if self._ca_store is None:
            raise invalid_client(_AUTH_FAILED, "no client CA is configured")
        expected = parse_subject_dn(client.tls_subject_dn or "")
        if expected is None:
            log.warning("client %s has no usable tls_client_auth subject DN", client.client_id)
            raise invalid_client(_AUTH_FAILED, "no usable subject DN registered")
        if certificate_subject_key(cert) != expected:
            raise invalid_client(_AUTH_FAILED, "certificate subject DN mismatch")
        try:
            verifier = _client_cert_policy().store(self._ca_store).build_client_verifier()
            verifier.verify(cert, [])
        except VerificationError as exc:
            raise invalid_client(_AUTH_FAILED, f"certificate: {exc}") from None


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


def jwks_certificates(jwks: dict[str, Any] | None) -> list[bytes]:
    out = []
    for key in (jwks or {}).get("keys", []):
        for b64 in key.get("x5c", [])[:1]:
            try:
                out.append(base64.b64decode(b64))
            except (ValueError, TypeError):  # binascii.Error, or non-ASCII text
                continue
    return out


def challenge_headers(request: OAuthRequest) -> dict[str, str]:
    """The WWW-Authenticate of a 401 invalid_client answer to this request (RFC 6749
    section 5.2; `oauth.errors.invalid_client`)."""
    params = request.params
    in_body = any(p in params for p in ("client_secret", "client_assertion",
                                        "client_assertion_type"))  # fmt: skip
    challenge = challenge_for(request.authorization, in_body or request.client_cert is not None)
    return {"WWW-Authenticate": challenge} if challenge else {}


def unauthenticated(request: OAuthRequest, description: str, reason: str | None) -> OAuthError:
    """invalid_client for a request that did not authenticate a client it may use here."""
    error = invalid_client(description, reason)
    error.headers = challenge_headers(request)
    return error


def require_client(
    result: AuthenticatedClient | UnauthenticatedClientId | None, request: OAuthRequest
) -> AuthenticatedClient:
    """For endpoints where only an authenticated client will do."""
    if isinstance(result, AuthenticatedClient):
        return result
    raise unauthenticated(request, "client authentication is required", None)


__all__ = [
    "AuthenticatedClient",
    "ClientAuthenticator",
    "OAuthError",
    "UnauthenticatedClientId",
    "cert_thumbprint",
    "challenge_headers",
    "jwks_certificates",
    "require_client",
    "unauthenticated",
]
