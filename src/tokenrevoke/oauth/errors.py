"""OAuth/Janssen-shaped errors: `{"error", "error_description"[, "reason"]}`."""

from __future__ import annotations

from dataclasses import dataclass, field

BASIC_CHALLENGE = 'Basic realm="jans-auth"'
BEARER_CHALLENGE = 'Bearer realm="jans-auth"'


@dataclass(slots=True)
class OAuthError(Exception):
    status: int
    error: str
    description: str
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, with_reason: bool) -> dict[str, str]:
        out = {"error": self.error, "error_description": self.description}
        if with_reason and self.reason:
            out["reason"] = self.reason
        return out


def invalid_request(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(400, "invalid_request", description, reason)


def invalid_client(
    description: str, reason: str | None = None, *, challenge: str | None = None
) -> OAuthError:
    """401 invalid_client. RFC 6749 section 5.2: a challenge (`WWW-Authenticate`) only
    matching the scheme of an Authorization header the client used, or naming Basic when
    it sent no credentials at all; none for credentials in the body or a certificate, so
    that client libraries report invalid_client, not an authentication challenge."""
    headers = {"WWW-Authenticate": challenge} if challenge else {}
    return OAuthError(401, "invalid_client", description, reason, headers)


def challenge_for(authorization: str | None, has_other_credentials: bool) -> str | None:
    """The challenge an invalid_client answer carries (see `invalid_client`)."""
    scheme = (authorization or "").partition(" ")[0].lower()
    if scheme == "basic":
        return BASIC_CHALLENGE
    if scheme == "bearer":
        return BEARER_CHALLENGE
    return None if has_other_credentials else BASIC_CHALLENGE


def invalid_grant(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(400, "invalid_grant", description, reason)


def access_denied(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(403, "access_denied", description, reason)


def insufficient_scope(scope: str) -> OAuthError:
    """403 insufficient_scope (RFC 6750 section 3.1), the challenge naming the scope needed."""
    challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
    return OAuthError(
        403,
        "insufficient_scope",
        f"the client needs the {scope} scope",
        headers={"WWW-Authenticate": challenge},
    )


def unavailable(description: str = "the token store is temporarily unavailable") -> OAuthError:
    return OAuthError(503, "temporarily_unavailable", description, headers={"Retry-After": "1"})
