"""A typed client of the config API, shared by the admin CLI and the TUI.

It authenticates like Janssen's tools: client_credentials at the token endpoint with HTTP
Basic, one access token per scope set, cached until shortly before it expires; a 401 from
the API drops the cached token and retries once. One client may be shared by threads (the
CLI revokes concurrently): the token cache is locked, httpx's pool is thread-safe.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from tokenrevoke.model.scope_ids import AUTH_CONFIG, AUTH_SESSION, CONFIG, CONFIG_API_SCOPES
from tokenrevoke.paths import AUTH, CONFIG_API_V1

TOKEN_PATH = f"{AUTH}/token"
SESSION = "/jans-auth-server/session"
_EARLY_EXPIRY = 30.0

SCOPE = {
    "token.read": CONFIG + "token.readonly",
    "token.delete": CONFIG + "token.delete",
    "clients.read": CONFIG + "openid/clients.readonly",
    "clients.write": CONFIG + "openid/clients.write",
    "clients.delete": CONFIG + "openid/clients.delete",
    "scopes.read": CONFIG + "scopes.readonly",
    "scopes.write": CONFIG + "scopes.write",
    "scopes.delete": CONFIG + "scopes.delete",
    "scripts.read": CONFIG + "scripts.readonly",
    "scripts.write": CONFIG + "scripts.write",
    "scripts.delete": CONFIG + "scripts.delete",
    "properties.read": AUTH_CONFIG + "properties.readonly",
    "properties.write": AUTH_CONFIG + "properties.write",
    # Janssen's session scopes, or the config API's read-all / delete-all that the server
    # also accepts for them: an admin client created before sessions existed holds only
    # those (configapi/security.py, SESSION_READ / SESSION_DELETE).
    "sessions.read": f"{AUTH_SESSION}readonly {CONFIG}read-all",
    "sessions.delete": f"{AUTH_SESSION}delete {CONFIG}delete-all",
}
# Scope sets of which any one granted scope will do (the others: the first is required).
_ANY_OF = frozenset((SCOPE["sessions.read"], SCOPE["sessions.delete"]))
# Writing a client: the server lets a token give a client only the config-API scopes it
# carries itself (docs/security.md), so this token also asks for every one of them; the
# token endpoint grants those the admin client holds. The first scope is the one required.
SCOPE["clients.grant"] = " ".join(dict.fromkeys((SCOPE["clients.write"], *CONFIG_API_SCOPES)))


class ApiClientError(RuntimeError):
    """A failed call, with what the server said and what to do about it."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after  # seconds, from a 429's or 503's Retry-After

    @property
    def description(self) -> str | None:
        """The server's own explanation (Janssen's ApiError `description`), if it gave one."""
        if isinstance(self.body, dict):
            text = self.body.get("description") or self.body.get("error_description")
            if isinstance(text, str) and text:
                return text
        return None


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def http_error(where: str, response: httpx.Response) -> ApiClientError:
    """An HTTP error answer as one line: what answered what, the server's reason, and what
    to do (when to retry after a 429 or 503; the request id of a 5xx, for the log)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("description") or body.get("error_description")
                     or body.get("error") or "")  # fmt: skip
    elif response.text:
        detail = response.text
    phrase = response.reason_phrase or "error"
    message = f"{where} answered {status} {phrase}"
    if detail:
        message += f": {_one_line(detail)}"
    retry_after = _retry_after(response)
    if status == 429:
        wait = f"in {retry_after} s" if retry_after is not None else "later"
        message += f". Too many failed attempts from this client or address: retry {wait}"
    elif status == 503 and retry_after is not None:
        message += f". Retry in {retry_after} s"
    elif status >= 500:
        request_id = response.headers.get("x-request-id")
        if request_id:
            message += f" (request id {request_id} in the server's log)"
    return ApiClientError(message, status, body, retry_after)


def _unreachable(url: str, exc: httpx.HTTPError) -> ApiClientError:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ApiClientError(
            f"cannot verify the TLS certificate of {url}: {text}. Pass the CA that signed it "
            "(--ca-cert) or, for testing only, --insecure"
        )
    return ApiClientError(f"cannot reach {url}: {text}. Is the server running?")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiClientError(
            f"unexpected answer from {response.request.url} ({response.status_code}, not JSON): "
            f"{response.text[:200]}",
            response.status_code,
        ) from None


@dataclass(slots=True)
class _CachedToken:
    value: str
    expires_at: float


class ConfigApiClient:
    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._credentials = (client_id, client_secret)
        if isinstance(verify, str):  # a CA file (httpx deprecates passing the path itself)
            try:
                verify = ssl.create_default_context(cafile=verify)
            except OSError as exc:  # missing file, or no certificate in it
                raise ApiClientError(f"cannot load the CA certificates {verify}: {exc}") from None
        self._http = httpx.Client(
            base_url=self.url, verify=verify, timeout=timeout, transport=transport
        )
        self._tokens: dict[str, _CachedToken] = {}
        self._token_lock = threading.Lock()

    @property
    def client_id(self) -> str:
        """The client this signs in as."""
        return self._credentials[0]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConfigApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def authenticate(self, *scope_keys: str) -> None:
        """Fetch the access tokens these operations need now: bad credentials or a missing
        scope fail early, before any work starts, and threads then share the cached token."""
        for key in scope_keys:
            self._token(SCOPE[key])

    def _token(self, scope: str) -> str:
        cached = self._tokens.get(scope)
        if cached and cached.expires_at > time.monotonic():
            return cached.value
        with self._token_lock:
            cached = self._tokens.get(scope)  # another thread may have fetched it meanwhile
            if cached and cached.expires_at > time.monotonic():
                return cached.value
            return self._fetch_token(scope)

    def _fetch_token(self, scope: str) -> str:
        try:
            response = self._http.post(
                TOKEN_PATH,
                data={"grant_type": "client_credentials", "scope": scope},
                auth=self._credentials,
            )
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from None
        if response.status_code == 401:
            raise ApiClientError(
                "the admin client id or secret is wrong (401 at the token endpoint)", 401
            )
        if response.status_code != 200:
            raise http_error("the token endpoint", response)
        body = _json(response)
        if not isinstance(body, dict) or "access_token" not in body:
            raise ApiClientError(
                f"unexpected answer from the token endpoint: {response.text[:200]}"
            )
        needed = scope.split()[0]
        granted = set(str(body.get("scope", "")).split())
        if needed not in granted and not (scope in _ANY_OF and granted & set(scope.split())):
            raise ApiClientError(
                f"the admin client was not granted the scope {needed}; add it to the client", 403
            )
        token = _CachedToken(
            body["access_token"],
            time.monotonic() + float(body.get("expires_in", 60)) - _EARLY_EXPIRY,
        )
        self._tokens[scope] = token
        return token.value

    def request(
        self,
        method: str,
        path: str,
        scope_key: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        scope = SCOPE[scope_key]
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {self._token(scope)}",
                "Accept": "application/json",
            }
            if json is not None:
                headers["Content-Type"] = content_type
            try:
                response = self._http.request(
                    method,
                    CONFIG_API_V1 + path,
                    params=params,
                    headers=headers,
                    content=None if json is None else orjson.dumps(json),
                )
            except httpx.HTTPError as exc:
                raise _unreachable(self.url, exc) from None
            if response.status_code == 401 and attempt == 1:
                self._tokens.pop(scope, None)  # expired or revoked: fetch a new one, once
                continue
            break
        if response.status_code >= 400:
            raise http_error(f"{method} {path}", response)
        if response.status_code == 204 or not response.content:
            return None
        return _json(response)

    def _patch(self, path: str, scope_key: str, patch: list[dict[str, Any]]) -> dict[str, Any]:
        """RFC 6902 JSON Patch, as every config-API PATCH takes it."""
        result: dict[str, Any] = self.request(
            "PATCH", path, scope_key, json=patch, content_type="application/json-patch+json"
        )
        return result

    # -- tokens -----------------------------------------------------------------------------
    def search_tokens(
        self,
        pattern: str = "",
        limit: int = 50,
        start: int = 0,
        field_value_pair: str = "",
        sort_by: str | None = None,
        descending: bool = False,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "startIndex": start}
        if pattern:
            params["pattern"] = pattern
        if field_value_pair:
            params["fieldValuePair"] = field_value_pair
        if sort_by:
            params["sortBy"] = sort_by
        if descending:
            params["sortOrder"] = "descending"
        result: dict[str, Any] = self.request("GET", "/token/search", "token.read", params=params)
        return result

    def tokens_of_client(self, client_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/token/client/{quote(client_id, safe='')}", "token.read"
        )
        return result

    def get_token(self, code: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/token/tknCde/{quote(code, safe='')}", "token.read"
        )
        return result

    def revoke_token(self, code_or_token: str) -> bool:
        """True when revoked, False when the server had no such live token (404)."""
        try:
            self.request("DELETE", f"/token/revoke/{quote(code_or_token, safe='')}", "token.delete")
        except ApiClientError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def revoke_all_as_client(self, client_id: str, client_secret: str) -> None:
        """Janssen's revoke-all: the client itself sends token=all to /revoke (client_secret
        _basic). The server answers 200 whatever it did (RFC 7009 section 2.2)."""
        try:
            response = self._http.post(
                f"{AUTH}/revoke",
                data={"token": "all", "token_type_hint": "all"},
                auth=(client_id, client_secret),
            )
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from None
        if response.status_code != 200:
            raise http_error("the revocation endpoint", response)

    def revoke_user_tokens(self, user_id: str) -> dict[str, Any]:
        """Every token and session of a user (inum or uid), across all clients. A 404
        (no such user, nothing revoked) raises like any other error."""
        result: dict[str, Any] = self.request(
            "POST", f"/token/revoke/user/{quote(user_id, safe='')}", "token.delete"
        )
        return result

    # -- browser sessions -------------------------------------------------------------------
    def sessions_of_user(
        self, user: str, live_only: bool = False, limit: int = 200, start: int = 0
    ) -> dict[str, Any]:
        """A user's sessions (user: inum or uid), newest first."""
        pairs = f"userDn={user}" + (",state=authenticated" if live_only else "")
        params = {"fieldValuePair": pairs, "limit": limit, "startIndex": start,
                  "sortBy": "creationDate", "sortOrder": "descending"}  # fmt: skip
        result: dict[str, Any] = self.request(
            "GET", f"{SESSION}/search", "sessions.read", params=params
        )
        return result

    def get_session(self, sid: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"{SESSION}/sid/{quote(sid, safe='')}", "sessions.read"
        )
        return result

    def end_session(self, sid: str) -> None:
        """End one session and revoke its tokens (404: no such session, or already over)."""
        self.request("DELETE", f"{SESSION}/sid/{quote(sid, safe='')}", "sessions.delete")

    def end_user_sessions(self, user: str) -> None:
        """End every session of a user (inum or uid) and revoke their tokens."""
        self.request("DELETE", f"{SESSION}/user/{quote(user, safe='')}", "sessions.delete")

    # -- clients ----------------------------------------------------------------------------
    def list_clients(self, pattern: str = "", limit: int = 200, start: int = 0) -> dict[str, Any]:
        params = {"limit": limit, "startIndex": start, **({"pattern": pattern} if pattern else {})}
        result: dict[str, Any] = self.request(
            "GET", "/openid/clients", "clients.read", params=params
        )
        return result

    def get_client(self, inum: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/openid/clients/{quote(inum, safe='')}", "clients.read"
        )
        return result

    def create_client(self, client: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST", "/openid/clients", "clients.grant", json=client
        )
        return result

    def patch_client(self, inum: str, patch: list[dict[str, Any]]) -> dict[str, Any]:
        return self._patch(f"/openid/clients/{quote(inum, safe='')}", "clients.grant", patch)

    def delete_client(self, inum: str) -> None:
        self.request("DELETE", f"/openid/clients/{quote(inum, safe='')}", "clients.delete")

    # -- scopes -----------------------------------------------------------------------------
    def list_scopes(
        self, pattern: str = "", limit: int = 200, start: int = 0, scope_type: str = ""
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, **({"pattern": pattern} if pattern else {})}
        if start:
            params["startIndex"] = start
        if scope_type:
            params["type"] = scope_type
        result: dict[str, Any] = self.request("GET", "/scopes", "scopes.read", params=params)
        return result

    def scope_ids_by_dn(self) -> dict[str, str]:
        """{DN: id} of every scope: clients list their scopes by DN (as Janssen's do)."""
        out: dict[str, str] = {}
        seen = 0
        while True:
            page = self.list_scopes(limit=200, start=seen)
            entries = [e for e in page.get("entries") or [] if isinstance(e, dict)]
            out.update((str(e.get("dn")), str(e.get("id"))) for e in entries)
            seen += len(entries)
            if not entries or seen >= int(page.get("totalEntriesCount", 0)):
                return out

    def get_scope(self, inum: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/scopes/{quote(inum, safe='')}", "scopes.read"
        )
        return result

    def create_scope(self, scope: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/scopes", "scopes.write", json=scope)
        return result

    def delete_scope(self, inum: str) -> None:
        self.request("DELETE", f"/scopes/{quote(inum, safe='')}", "scopes.delete")

    # -- properties and feature flags -------------------------------------------------------
    def get_properties(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/jans-auth-server/config", "properties.read")
        return result

    def patch_properties(self, patch: list[dict[str, Any]]) -> dict[str, Any]:
        return self._patch("/jans-auth-server/config", "properties.write", patch)

    def set_property(self, name: str, value: Any) -> dict[str, Any]:
        return self.patch_properties([{"op": "replace", "path": f"/{name}", "value": value}])

    def feature_flags(self) -> list[str]:
        result: list[str] = self.request(
            "GET", "/jans-auth-server/config/feature-flags", "properties.read"
        )
        return result

    # -- scripts ----------------------------------------------------------------------------
    def list_scripts(self, limit: int = 200, start: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, **({"startIndex": start} if start else {})}
        result: dict[str, Any] = self.request(
            "GET", "/config/scripts", "scripts.read", params=params
        )
        return result

    def get_script(self, inum: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/config/scripts/inum/{quote(inum, safe='')}", "scripts.read"
        )
        return result

    def get_script_by_name(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/config/scripts/name/{quote(name, safe='')}", "scripts.read"
        )
        return result

    def create_script(self, script: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST", "/config/scripts", "scripts.write", json=script
        )
        return result

    def patch_script(self, inum: str, patch: list[dict[str, Any]]) -> dict[str, Any]:
        return self._patch(f"/config/scripts/{quote(inum, safe='')}", "scripts.write", patch)

    def delete_script(self, inum: str) -> None:
        self.request("DELETE", f"/config/scripts/{quote(inum, safe='')}", "scripts.delete")
