"""A small, thread-safe client of Janssen's auth server and config API.

- Access tokens: `POST {url}/jans-auth/restv1/token` with `grant_type=client_credentials`
  and one scope per operation, the client authenticated with HTTP Basic. The scope must
  be granted (Janssen silently drops scopes a client does not have). Tokens are cached
  per scope until 30 s before they expire; a 401 from the API drops the cached token and
  the call is retried once with a fresh one.
- Every API call carries `Authorization: Bearer`, `Accept`/`Content-Type`,
  `jans-client: infrastructure-as-code-tool` and `user-inum: <client_id>`.
- Connection errors, 5xx and 429 are retried with exponential backoff (429/503 honour
  `Retry-After`). Every failure is a `JansError` whose text says what to do about it.
- Nothing here ever formats a raw token into a message, a URL or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import json
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from terraform_provider_jans import VERSION
from terraform_provider_jans.transport import Response, Transport, TransportError

TOKEN_PATH = "/jans-auth/restv1/token"
API = "/jans-config-api/api/v1"

CONFIG = "https://jans.io/oauth/config/"
AUTH_CONFIG = "https://jans.io/oauth/jans-auth-server/config/"
SCOPE_TOKEN_DELETE = CONFIG + "token.delete"
SCOPE_TOKEN_READ = CONFIG + "token.readonly"
SCOPE_PROPERTIES_READ = AUTH_CONFIG + "properties.readonly"
SCOPE_PROPERTIES_WRITE = AUTH_CONFIG + "properties.write"

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
# How long before expiry a cached access token is no longer used.
TOKEN_EXPIRY_MARGIN = 30.0
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CREDENTIALS_HINT = (
    "Check client_id and client_secret in the provider block (or JANS_CLIENT_ID and "
    "JANS_CLIENT_SECRET): the client must exist, be enabled, use client_secret_basic and "
    "be allowed the client_credentials grant."
)


class JansError(Exception):
    """A failure worth showing as a Terraform diagnostic: a one-line summary and a detail
    that says what to do."""

    def __init__(self, summary: str, detail: str) -> None:
        super().__init__(f"{summary}: {detail}")
        self.summary = summary
        self.detail = detail


class NotFound(JansError):
    """The config API answered 404."""


@dataclass(frozen=True)
class Settings:
    url: str
    client_id: str
    client_secret: str
    insecure: bool = False
    ca_certificate: str | None = None
    timeout: float = 30.0
    max_retries: int = 4
    backoff: float = 0.5  # first retry wait; doubles each time, with jitter
    max_wait: float = 30.0  # longest single wait, Retry-After included

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # on the client's clock (time.monotonic)


@dataclass
class RequestLog:
    """Counts of what the client sent (for diagnostics and tests)."""

    token_requests: int = 0
    api_requests: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bump(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


def token_code_hash(token_code: str) -> str:
    """Janssen's `tknCde`: the lowercase hex SHA-256 of the raw token. A value that already
    is 64 hex digits is taken to be a tknCde and only lower-cased."""
    if _HEX64.fullmatch(token_code):
        return token_code.lower()
    return hashlib.sha256(token_code.encode()).hexdigest()


def verify_setting(settings: Settings) -> ssl.SSLContext | bool:
    """How TLS certificates are checked; raises JansError for an unusable CA file."""
    if settings.insecure:
        return False
    if settings.ca_certificate:
        try:
            return ssl.create_default_context(cafile=settings.ca_certificate)
        except (OSError, ssl.SSLError) as exc:
            raise JansError(
                "Cannot load ca_certificate",
                f"{settings.ca_certificate!r} is not a readable PEM file of CA certificates "
                f"({exc}). Point ca_certificate at the PEM file of the CA that signed the "
                "server's certificate.",
            ) from None
    return True


def _error_text(response: Response) -> str:
    """The server's own words from a Janssen error body (config API or OAuth)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason
    if isinstance(body, dict):
        parts = [
            str(body[k])
            for k in ("error", "error_description", "message", "description", "reason")
            if body.get(k)
        ]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return str(body)[:300]


def _retry_after(response: Response) -> float | None:
    value = response.header("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class JansClient:
    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.log = RequestLog()
        self._sleep = sleep
        self._clock = clock
        self._http = Transport(
            settings.base_url, verify=verify_setting(settings), timeout=settings.timeout
        )
        self._tokens: dict[str, _CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def close(self) -> None:
        self._http.close_thread()

    # -- transport with retries --------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        headers: dict[str, str],
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
    ) -> Response:
        url = self.settings.base_url + path
        headers = {"User-Agent": f"terraform-provider-jans/{VERSION}", **headers}
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(
                    method, path, params=params, headers=headers, body=body
                )
            except TransportError as exc:
                if exc.tls:
                    raise self._tls_error(exc) from None
                if last:
                    raise self._unreachable(exc, attempts) from None
                self.log.bump("retries")
                self._sleep(self._backoff(attempt))
                continue
            if response.status_code in _RETRY_STATUSES and not last:
                self.log.bump("retries")
                wait = _retry_after(response) if response.status_code in (429, 503) else None
                self._sleep(min(wait, self.settings.max_wait) if wait is not None
                            else self._backoff(attempt))  # fmt: skip
                continue
            if response.status_code in _RETRY_STATUSES:
                raise JansError(
                    f"The Janssen server failed {what}",
                    f"{method} {url} answered HTTP {response.status_code} "
                    f"({_error_text(response)}) after {attempts} attempts. The server is "
                    "overloaded or failing: check its health and logs, then run Terraform "
                    "again (max_retries and request_timeout allow longer waits).",
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        wait = min(self.settings.backoff * 2.0**attempt, self.settings.max_wait)
        return wait * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def _unreachable(self, exc: Exception, attempts: int) -> JansError:
        return JansError(
            "Cannot reach the Janssen server",
            f"{self.settings.base_url} did not answer ({type(exc).__name__}: {exc}) after "
            f"{attempts} attempts. Check the provider's url (or JANS_URL), that the server "
            "is running and that this machine can reach it (DNS, firewall, proxy).",
        )

    def _tls_error(self, exc: Exception) -> JansError:
        return JansError(
            "TLS connection to the Janssen server failed",
            f"{self.settings.base_url}: {exc}. If the server uses a private CA, set "
            "ca_certificate to the PEM file of that CA; check that the url's host name "
            "matches the server certificate and that the server speaks TLS at all (http:// "
            "or https://). insecure_client = true (JANS_INSECURE_CLIENT) skips verification "
            "and is only for test servers.",
        )

    # -- access tokens -----------------------------------------------------------------
    def _scope_lock(self, scope: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(scope, threading.Lock())

    def access_token(self, scope: str) -> str:
        with self._scope_lock(scope):
            cached = self._tokens.get(scope)
            if cached is not None and self._clock() < cached.expires_at:
                return cached.value
            token, lifetime = self._fetch_token(scope)
            margin = min(TOKEN_EXPIRY_MARGIN, lifetime / 2)
            self._tokens[scope] = _CachedToken(token, self._clock() + lifetime - margin)
            return token

    def drop_token(self, scope: str, token: str) -> None:
        with self._scope_lock(scope):
            cached = self._tokens.get(scope)
            if cached is not None and cached.value == token:
                del self._tokens[scope]

    def _fetch_token(self, scope: str) -> tuple[str, float]:
        s = self.settings
        if not s.client_id or not s.client_secret:
            raise JansError(
                "Missing client credentials",
                "The provider needs client_id and client_secret (or JANS_CLIENT_ID and "
                "JANS_CLIENT_SECRET) of a Janssen client that has the scope " + scope + ".",
            )
        url = s.base_url + TOKEN_PATH
        # RFC 6749 section 2.3.1: form-encode both parts before Basic encoding.
        basic = f"{quote_plus(s.client_id)}:{quote_plus(s.client_secret)}"
        self.log.bump("token_requests")
        response = self._send(
            "POST",
            TOKEN_PATH,
            "to issue an access token",
            headers={
                "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
                "Accept": JSON,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=urlencode({"grant_type": "client_credentials", "scope": scope}).encode(),
        )
        if response.status_code != 200:
            raise self._token_error(response, scope)
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError):
            raise JansError(
                "Unexpected answer from the token endpoint",
                f"POST {url} answered 200 without a usable access_token. Check that url "
                "points at the Janssen server itself (not a proxy login page).",
            ) from None
        granted = str(body.get("scope", scope) or "").split()
        if scope not in granted:
            raise self._scope_error(scope)
        return str(token), lifetime

    def _scope_error(self, scope: str) -> JansError:
        return JansError(
            f"Scope not granted: {scope}",
            f"The Janssen client {self.settings.client_id!r} asked for the scope {scope} "
            "and was not granted it. Add that scope to the client (Janssen TUI or config "
            "API: OpenID Connect clients, scopes), or use a client that has it.",
        )

    def _token_error(self, response: Response, scope: str) -> JansError:
        text = _error_text(response)
        code = ""
        with contextlib.suppress(ValueError, AttributeError):
            code = str(response.json().get("error", ""))
        if response.status_code == 401 or code in ("invalid_client", "unauthorized_client"):
            return JansError(
                "Janssen rejected the provider's client credentials",
                f"The token endpoint answered HTTP {response.status_code} ({text}) for "
                f"client_id {self.settings.client_id!r}. {_CREDENTIALS_HINT}",
            )
        if code == "invalid_scope":
            return self._scope_error(scope)
        if response.status_code == 404:
            return JansError(
                "No Janssen token endpoint at this url",
                f"POST {self.settings.base_url}{TOKEN_PATH} answered 404. Set url (JANS_URL) "
                "to the server's base URL, e.g. https://janssen.example.com, without a path.",
            )
        return JansError(
            "Could not get an access token",
            f"The token endpoint answered HTTP {response.status_code} ({text}) for scope "
            f"{scope}. {_CREDENTIALS_HINT}",
        )

    # -- the config API ----------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        scope: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        content_type: str = JSON,
    ) -> Response:
        """A config API call; returns a 2xx response or raises (NotFound for 404)."""
        content = None if json_body is None else json.dumps(json_body).encode()
        response: Response | None = None
        for attempt in range(2):
            token = self.access_token(scope)
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": JSON,
                "Content-Type": content_type,
                "jans-client": "infrastructure-as-code-tool",
                "user-inum": self.settings.client_id,
            }
            self.log.bump("api_requests")
            response = self._send(
                method, API + path, what, params=params, body=content, headers=headers
            )
            if response.status_code == 401 and attempt == 0:
                self.drop_token(scope, token)  # expired or revoked: one retry, fresh token
                continue
            break
        assert response is not None
        status = response.status_code
        if 200 <= status < 300:
            return response
        text = _error_text(response)
        if status == 404:
            raise NotFound(f"Not found while trying {what}", f"{method} {path}: {text}")
        if status == 401:
            raise JansError(
                f"The config API rejected the access token while trying {what}",
                f"{method} {path} answered 401 ({text}) twice, with a fresh token the second "
                "time. Check that the config API trusts this auth server's tokens and that "
                "the server clocks agree.",
            )
        if status == 403:
            raise JansError(
                f"Access denied while trying {what}",
                f"{method} {path} answered 403 ({text}) to a token with the scope {scope}. "
                "Grant the client the scope the API asks for, or check the server's API "
                "protection settings.",
            )
        raise JansError(
            f"The config API refused {what}",
            f"{method} {path} answered HTTP {status}: {text}",
        )

    # -- operations ----------------------------------------------------------------------
    def revoke_token(self, tkn_cde: str) -> bool:
        """DELETE /token/revoke/{tknCde}: True when revoked now, False when the server had
        no such live token (404: unknown, expired or already revoked)."""
        try:
            self.request(
                "DELETE",
                "/token/revoke/" + quote(tkn_cde, safe=""),
                SCOPE_TOKEN_DELETE,
                "to revoke a token",
            )
        except NotFound:
            return False
        return True

    def revoke_user_tokens(self, user_id: str) -> dict[str, Any]:
        """POST /token/revoke/user/{userId} (tokenrevoke's extension): every token and
        session of the user, of every client. NotFound (404): no such user, nothing revoked."""
        body: dict[str, Any] = self.request(
            "POST",
            "/token/revoke/user/" + quote(user_id, safe=""),
            SCOPE_TOKEN_DELETE,
            "to revoke a user's tokens",
        ).json()
        return body

    def search_tokens(
        self, *, pattern: str, client_id: str, limit: int, start_index: int
    ) -> dict[str, Any]:
        params: dict[str, str | int] = {"limit": limit, "startIndex": start_index}
        if pattern:
            params["pattern"] = pattern
        if client_id:
            params["fieldValuePair"] = f"clnId={client_id}"
        body: dict[str, Any] = self.request(
            "GET", "/token/search", SCOPE_TOKEN_READ, "to search tokens", params=params
        ).json()
        return body

    def feature_flags(self) -> list[str]:
        body = self.request(
            "GET",
            "/jans-auth-server/config/feature-flags",
            SCOPE_PROPERTIES_READ,
            "to read the feature flags",
        ).json()
        return [str(v) for v in body] if isinstance(body, list) else []

    def app_configuration(self, scope: str = SCOPE_PROPERTIES_READ) -> dict[str, Any]:
        body: dict[str, Any] = self.request(
            "GET", "/jans-auth-server/config", scope, "to read the auth server configuration"
        ).json()
        return body

    def patch_app_configuration(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = self.request(
            "PATCH",
            "/jans-auth-server/config",
            SCOPE_PROPERTIES_WRITE,
            "to change the auth server configuration",
            json_body=operations,
            content_type=JSON_PATCH,
        ).json()
        return body
