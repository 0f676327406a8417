"""What client authentication answers: the authenticated client, or a refusal shaped for
the endpoint (invalid_client with its WWW-Authenticate challenge)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tokenrevoke.model import AuthMethod, Client, TokenRecord
from tokenrevoke.oauth.errors import OAuthError, challenge_for, invalid_client
from tokenrevoke.oauth.request import OAuthRequest

AUTH_FAILED = "client authentication failed"

ClientLookup = Callable[[str], Awaitable[Client | None]]


@dataclass(slots=True)
class AuthenticatedClient:
    client: Client
    method: str  # an AuthMethod value, or "bearer"
    cert_thumbprint: str | None = None  # x5t#S256 of the certificate used, for binding
    bearer: TokenRecord | None = None


@dataclass(slots=True)
class UnauthenticatedClientId:
    """Only a `client_id` was sent, naming no public client: no client is authenticated
    (each endpoint answers 401 invalid_client; Janssen's /revoke answered 200)."""

    client_id: str


def require_usable(client: Client, method: AuthMethod) -> None:
    """A client authenticates only while enabled, and only with its registered method."""
    if client.disabled:
        raise invalid_client(AUTH_FAILED, "client is disabled")
    if client.auth_method is not method:
        raise invalid_client(
            AUTH_FAILED,
            f"client is registered for {client.auth_method.value}, not {method.value}",
        )


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


def require_confidential_client(
    result: AuthenticatedClient | UnauthenticatedClientId | None, request: OAuthRequest
) -> AuthenticatedClient:
    """For endpoints that act on users (global token revocation, revoke_session): a public
    client's id is no secret, so with it anyone could sign any user out."""
    if not isinstance(result, AuthenticatedClient):
        raise unauthenticated(
            request, "client authentication is required", "no client credentials were sent"
        )
    if result.client.is_public:
        raise unauthenticated(
            request,
            "client authentication is required",
            "public clients may not use this endpoint",
        )
    return result


def holds_scope(auth: AuthenticatedClient, scope: str) -> bool:
    """The client must hold the scope (as Janssen checks); a bearer token must also have
    been granted it, since a token is never worth more than its scope."""
    if scope not in auth.client.scopes:
        return False
    return auth.bearer is None or scope in auth.bearer.scope.split()
