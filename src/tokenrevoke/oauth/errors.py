"""OAuth/Janssen-shaped errors: `{"error", "error_description"[, "reason"]}`."""

from __future__ import annotations

from dataclasses import dataclass, field

BASIC_CHALLENGE = 'Basic realm="jans-auth"'


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


def invalid_client(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(
        401, "invalid_client", description, reason, {"WWW-Authenticate": BASIC_CHALLENGE}
    )


def invalid_grant(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(400, "invalid_grant", description, reason)


def access_denied(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(403, "access_denied", description, reason)


def unavailable(description: str = "the token store is temporarily unavailable") -> OAuthError:
    return OAuthError(503, "temporarily_unavailable", description, headers={"Retry-After": "1"})
