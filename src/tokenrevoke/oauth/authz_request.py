"""An authorization request (RFC 6749 section 4.1.1, OpenID Connect Core 3.1.2.1), checked.

The order of the checks is the order of trust (RFC 6749 section 4.1.2.1): until the
client and its redirect URI are known good, an error is shown to the user (`ErrorPage`),
never sent to a URI the request names (an open redirect); after that, errors go back to
the client at that URI (`Redirect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tokenrevoke.model import AppConfiguration, Client, TokenRecord
from tokenrevoke.model.config import INT32_MAX
from tokenrevoke.model.scope_ids import OPENID
from tokenrevoke.oauth import pkce

RESPONSE_MODES = ("query", "form_post")
# select_account: there is one account per browser here, so it asks for the password.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_MAX_TEXT = 2048  # state, nonce, login_hint: longer ones are refused, not cut
_MAX_URI = 2048


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """An error shown to the user: the request cannot be trusted to name where to go."""

    status: int
    error: str
    description: str


@dataclass(frozen=True, slots=True)
class Redirect:
    """Back to the client: `params` at its redirect URI, in the query or a form post."""

    redirect_uri: str
    response_mode: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    redirect_uri_given: bool
    response_mode: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    prompt: frozenset[str]
    max_age: int | None
    code_challenge: str | None
    login_hint: str | None

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["scopes"] = list(self.scopes)
        doc["prompt"] = sorted(self.prompt)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AuthorizationRequest:
        return cls(**{**doc, "scopes": tuple(doc["scopes"]), "prompt": frozenset(doc["prompt"])})

    def error(self, issuer: str, error: str, description: str) -> Redirect:
        return self.back(issuer, {"error": error, "error_description": description})

    def back(self, issuer: str, params: dict[str, str]) -> Redirect:
        """A response to the client. `iss` (RFC 9207) lets it tell which server answered
        (mix-up attacks); `state` returns as sent."""
        out = {**params, "iss": issuer}
        if self.state is not None:
            out["state"] = self.state
        return Redirect(self.redirect_uri, self.response_mode, out)


def registered_redirect_uris(client: Client) -> list[str]:
    uris = client.extra.get("redirectUris")
    return [u for u in uris if isinstance(u, str)] if isinstance(uris, list) else []


def requires_pkce(client: Client, config: AppConfiguration) -> bool:
    """Public clients always (RFC 9700 section 2.1.1); the others when `requirePkce` is on,
    server-wide or in the client's `attributes` (Janssen's names for both)."""
    attributes = client.extra.get("attributes")
    own = isinstance(attributes, dict) and attributes.get("requirePkce") is True
    return client.is_public or own or config.require_pkce


def check_client_and_redirect(
    client: Client | None, client_id: str | None, redirect_uri: str | None, scope: str | None
) -> tuple[str, bool] | ErrorPage:
    """The redirect URI to answer at (and whether the request named it), or the page."""
    if not client_id:
        return ErrorPage(400, "invalid_request", "The request does not name a client.")
    if client is None or client.disabled:
        return ErrorPage(400, "unauthorized_client", "The application is not known here.")
    registered = registered_redirect_uris(client)
    if redirect_uri is None:
        # RFC 6749 section 3.1.2.3: optional with one registered URI; OpenID Connect Core
        # 3.1.2.1 makes it required.
        if len(registered) != 1 or OPENID in (scope or "").split():
            return ErrorPage(400, "invalid_request", "The request has no redirect_uri.")
        return registered[0], False
    # Exactly as registered (RFC 9700 section 4.1.3): no prefix, no pattern, no
    # normalisation; a fragment is never allowed (RFC 6749 section 3.1.2).
    if len(redirect_uri) > _MAX_URI or "#" in redirect_uri or redirect_uri not in registered:
        return ErrorPage(
            400,
            "invalid_request",
            "The redirect_uri is not registered for this application.",
        )
    return redirect_uri, True


def parse(
    params: Mapping[str, str], client: Client | None, config: AppConfiguration
) -> AuthorizationRequest | ErrorPage | Redirect:
    """Check an authorization request's parameters."""
    checked = check_client_and_redirect(
        client, params.get("client_id"), params.get("redirect_uri"), params.get("scope")
    )
    if isinstance(checked, ErrorPage):
        return checked
    assert client is not None
    redirect_uri, given = checked
    mode = params.get("response_mode", "query")
    state = params.get("state")
    trusted = AuthorizationRequest(
        client.client_id, redirect_uri, given, mode if mode in RESPONSE_MODES else "query",
        (), state if state is not None and len(state) <= _MAX_TEXT else None, None,
        frozenset(), None, None, None,
    )  # fmt: skip
    issuer = config.issuer

    def fail(error: str, description: str) -> Redirect:
        return trusted.error(issuer, error, description)

    if state is not None and len(state) > _MAX_TEXT:
        return fail("invalid_request", f"state is longer than {_MAX_TEXT} characters")
    if mode not in RESPONSE_MODES:
        return fail("invalid_request", "response_mode must be query or form_post")
    if "request" in params:
        return fail("request_not_supported", "request objects are not supported")
    if "request_uri" in params:
        return fail("request_uri_not_supported", "request_uri is not supported")
    response_type = params.get("response_type")
    if not response_type:
        return fail("invalid_request", "response_type is required")
    if response_type != "code":
        return fail("unsupported_response_type", "only response_type=code is supported")
    if not client.allows_grant("authorization_code"):
        return fail("unauthorized_client", "the client may not use the authorization code grant")
    requested = list(dict.fromkeys((params.get("scope") or "").split()))
    scopes = tuple(s for s in requested if s in client.scopes)
    if requested and not scopes:
        return fail("invalid_scope", "none of the requested scopes is allowed to the client")
    challenge = params.get("code_challenge")
    problem = pkce.challenge_problem(challenge, params.get("code_challenge_method"))
    if problem is not None:
        return fail("invalid_request", problem)
    if challenge is None and requires_pkce(client, config):
        return fail("invalid_request", "code_challenge (PKCE, S256) is required")
    prompt = frozenset((params.get("prompt") or "").split())
    if not prompt <= PROMPTS:
        return fail("invalid_request", "prompt must be none, login, consent or select_account")
    if "none" in prompt and len(prompt) > 1:
        return fail("invalid_request", "prompt=none cannot be combined with other values")
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isdigit() and int(max_age) <= INT32_MAX):
        return fail("invalid_request", "max_age must be a non-negative integer")
    nonce, hint = params.get("nonce"), params.get("login_hint")
    if any(v is not None and len(v) > _MAX_TEXT for v in (nonce, hint)):
        return fail("invalid_request", f"nonce and login_hint are at most {_MAX_TEXT} characters")
    return AuthorizationRequest(
        client.client_id, redirect_uri, given, mode, scopes, state, nonce, prompt,
        None if max_age is None else int(max_age), challenge, hint,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CodeBinding:
    """What an authorization code is bound to, kept in its token row's attributes and
    checked when it is exchanged (oauth/token_endpoint.py)."""

    redirect_uri: str
    redirect_uri_given: bool
    code_challenge: str | None
    nonce: str | None
    auth_time: int

    def attributes(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def of(cls, record: TokenRecord) -> CodeBinding:
        a = record.attributes
        return cls(
            redirect_uri=str(a.get("redirect_uri", "")),
            redirect_uri_given=bool(a.get("redirect_uri_given", True)),
            code_challenge=a.get("code_challenge"),
            nonce=a.get("nonce"),
            auth_time=int(a.get("auth_time", record.created_at)),
        )
