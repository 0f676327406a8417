"""Browser sessions (Janssen's `SessionId`): made when a user signs in, named by a cookie.

Only sha256_hex(cookie value) is stored, like every token; the cookie's value changes at
each sign-in (`cookie_hash`), the session's `sid` does not: it is the `sid` claim of the
id_tokens issued in the session and the `ssnId` of every token issued in it, so ending a
session finds its tokens by that one indexed column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SessionState(StrEnum):
    """Janssen's `SessionIdState` names, plus the end of a session."""

    AUTHENTICATED = "authenticated"
    ENDED = "ended"


@dataclass(slots=True)
class SessionRecord:
    sid: str
    cookie_hash: str
    user_id: str
    auth_time: int  # when the user last gave their password (OIDC `auth_time`)
    created_at: int
    last_used_at: int
    idle_expires_at: int  # last use + sessionIdUnusedLifetime, never past `expires_at`
    expires_at: int  # creation + sessionIdLifetime
    state: SessionState = SessionState.AUTHENTICATED
    ended_at: int | None = None
    end_reason: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def is_live(self, now: int) -> bool:
        return (
            self.state is SessionState.AUTHENTICATED
            and now < self.idle_expires_at
            and now < self.expires_at
        )


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """Which sessions to end: these sids, or every session of a user (both may be given:
    then only the user's sessions among the sids)."""

    sids: tuple[str, ...] | None = None
    user_id: str | None = None

    @classmethod
    def of(cls, *sids: str) -> SessionEnd:
        return cls(sids=tuple(sorted(set(sids))))

    @classmethod
    def of_user(cls, user_id: str) -> SessionEnd:
        return cls(user_id=user_id)


@dataclass(frozen=True, slots=True)
class EndedSessions:
    """What ending sessions did, after COMMIT: the sids newly ended and how many of their
    tokens were newly revoked."""

    sids: tuple[str, ...]
    tokens_revoked: int


class CodeRedemption(StrEnum):
    """What presenting an authorization code turned out to be (`Store.redeem_code`)."""

    REDEEMED = "redeemed"  # live: retired, and the tokens issued in its stead inserted
    SPENT = "spent"  # the code exists but is no longer live (used, revoked or expired)
    UNKNOWN = "unknown"
    SESSION_ENDED = "session_ended"  # its session is over: nothing issued, code retired
