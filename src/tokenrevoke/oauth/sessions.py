"""Browser sessions: made at sign-in, found by their cookie, kept alive by use, ended.

The rules (Janssen's session properties): a session lives at most `sessionIdLifetime`
seconds from sign-in and dies after `sessionIdUnusedLifetime` seconds without use. The
cookie's value is a fresh 256-bit token at every sign-in (so a value planted before
sign-in, or seen before it, names nothing after: session fixation); only its hash is
stored. Ending a session revokes every token issued in it, in the same transaction
(`Store.end_sessions`). The cookie itself is set by the web layer (web/signin.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tokenrevoke.crypto import new_id, new_token, sha256_hex
from tokenrevoke.model import AppConfiguration, AuditEvent, User
from tokenrevoke.model.session import EndedSessions, SessionEnd, SessionRecord
from tokenrevoke.oauth.revoking import Action, Reason
from tokenrevoke.store import Store

# Janssen's cookie name.
SESSION_COOKIE = "session_id"
# The audit action of every session ending (its reason says why).
END_SESSION_ACTION = Action.END_SESSION.value
# Longer than any cookie value we set (43 characters): anything longer is not looked up.
_MAX_COOKIE = 128


@dataclass(frozen=True, slots=True)
class SessionLifetimes:
    idle: int  # sessionIdUnusedLifetime
    absolute: int  # sessionIdLifetime

    @classmethod
    def of(cls, config: AppConfiguration) -> SessionLifetimes:
        return cls(config.session_id_unused_lifetime, config.session_id_lifetime)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just signed into, and the cookie value to give the browser (only here,
    never stored)."""

    session: SessionRecord
    cookie: str
    replaced: EndedSessions | None = field(default=None)


class SessionService:
    def __init__(self, store: Store, config: Callable[[], AppConfiguration]) -> None:
        self._store = store
        self._config = config

    async def find(self, cookie: str | None, now: int) -> SessionRecord | None:
        """The live session this cookie names, if any."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        found = await self._store.get_session_by_cookie(sha256_hex(cookie))
        return found if found is not None and found.is_live(now) else None

    async def use(self, session: SessionRecord, now: int) -> SessionRecord | None:
        """The session used at `now`: its idle expiry moves on. None when it ended (or
        expired) meanwhile."""
        idle = SessionLifetimes.of(self._config()).idle
        return await self._store.touch_session(session.sid, now, now + idle)

    async def sign_in(
        self,
        user: User,
        now: int,
        current: SessionRecord | None,
        attributes: dict[str, Any] | None = None,
    ) -> SignedIn:
        """The user has just given their password. The browser's live session of the same
        user carries on under a new cookie, with this `auth_time` (the tokens already
        issued in it stay in it); otherwise a new session starts, and a live session of
        another user in this browser ends (with its tokens: whoever holds the browser now
        is not that user)."""
        lifetimes = SessionLifetimes.of(self._config())
        cookie = new_token()
        idle_until = now + lifetimes.idle
        if current is not None and current.user_id == user.inum:
            touched = await self._store.touch_session(
                current.sid, now, idle_until, cookie_hash=sha256_hex(cookie), auth_time=now
            )
            if touched is not None:
                return SignedIn(touched, cookie)
        replaced = None
        if current is not None and current.user_id != user.inum:
            replaced = await self.end(
                SessionEnd.of(current.sid),
                now,
                actor=user.inum,
                reason=Reason.REPLACED_BY_SIGN_IN.value,
            )
        record = SessionRecord(
            sid=new_id(),
            cookie_hash=sha256_hex(cookie),
            user_id=user.inum,
            auth_time=now,
            created_at=now,
            last_used_at=now,
            idle_expires_at=min(idle_until, now + lifetimes.absolute),
            expires_at=now + lifetimes.absolute,
            attributes={"uid": user.uid, **(attributes or {})},
        )
        await self._store.create_session(record)
        return SignedIn(record, cookie, replaced)

    async def end(
        self,
        which: SessionEnd,
        at: int,
        *,
        actor: str,
        reason: str,
        client_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> EndedSessions:
        """End sessions and revoke their tokens (one transaction, one audit record)."""
        audit = AuditEvent(END_SESSION_ACTION, actor, reason, client_id, dict(details or {}))
        return await self._store.end_sessions(which, at, audit)
