"""Session resources: list, read and end users' browser sessions (Janssen's config API
`/jans-auth-server/session`, its SessionId JSON and operation names).

Ending a session here is what `/end_session` and `/revoke_session` do: the session ends
and every token issued in it is revoked (store.end_sessions), with an audit record naming
the admin client and a revocation event. A user is named as Janssen's `userDn`
(`inum=...,ou=people,o=jans`), or by inum or uid.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tokenrevoke.configapi.errors import bad_request, not_found
from tokenrevoke.configapi.paging import paged, parse_paging
from tokenrevoke.configapi.security import Caller
from tokenrevoke.configapi.token_entries import janssen_date
from tokenrevoke.model import AuditEvent, User
from tokenrevoke.model.session import SessionEnd, SessionRecord
from tokenrevoke.oauth.revoking import Action, Actor, Reason, audit_event
from tokenrevoke.oauth.session_revocation import end_user_sessions
from tokenrevoke.store.base import Store

# What a search may filter and sort by (Janssen's attribute names).
SEARCH_FIELDS = ("userDn", "state")
SORT_FIELDS = ("jansId", "creationDate", "lastUsedAt", "expirationDate")
_SORT_KEYS = {
    "jansId": lambda s: s.sid,
    "creationDate": lambda s: s.created_at,
    "lastUsedAt": lambda s: s.last_used_at,
    "expirationDate": lambda s: s.expires_at,
}


def user_dn(inum: str) -> str:
    return f"inum={inum},ou=people,o=jans"


def session_json(session: SessionRecord, now: int) -> dict[str, Any]:
    """Janssen's SessionId JSON; `id` and `outsideSid` are the sid (the cookie's value is
    never stored, so it is never shown). `state` is `authenticated` while the session is
    live; an ended or expired one says so, with when and why (our members)."""
    live = session.is_live(now)
    out: dict[str, Any] = {
        "dn": f"jansId={session.sid},ou=sessions,o=jans",
        "id": session.sid,
        "outsideSid": session.sid,
        "userDn": user_dn(session.user_id),
        "authenticationTime": janssen_date(session.auth_time),
        "lastUsedAt": janssen_date(session.last_used_at),
        "creationDate": janssen_date(session.created_at),
        "expirationDate": janssen_date(min(session.idle_expires_at, session.expires_at)),
        "state": _state(session, live),
        "sessionAttributes": {k: str(v) for k, v in session.attributes.items() if v is not None},
        "deletable": True,
        "persisted": True,
    }
    if session.ended_at is not None:
        out["endedAt"] = janssen_date(session.ended_at)
        out["endReason"] = session.end_reason
    return out


def _state(session: SessionRecord, live: bool) -> str:
    if live:
        return "authenticated"
    return "ended" if session.ended_at is not None else "expired"


async def find_user(store: Store, name: str) -> User | None:
    """The user a userDn, an inum or a uid names."""
    if name.startswith("inum="):
        return await store.get_user(name.removeprefix("inum=").split(",", 1)[0])
    return await store.get_user(name) or await store.get_user_by_uid(name)


async def _user_or_404(store: Store, name: str) -> User:
    user = await find_user(store, name)
    if user is None:
        raise not_found(f"no user {name} (by userDn, inum or uid)")
    return user


async def search(store: Store, params: Mapping[str, str]) -> dict[str, Any]:
    """A user's sessions: `fieldValuePair=userDn=...` is required (sessions are kept per
    user); `state=authenticated` keeps the live ones only."""
    pairs = params.get("fieldValuePair") or ""
    # A whole userDn holds commas, which separate the pairs: its fixed tail goes (the
    # inum before it names the user), as Janssen's own example sends a bare inum.
    params = {**params, "fieldValuePair": pairs.replace(",ou=people,o=jans", "")}
    paging = parse_paging(params, sort_default="jansId", sortable=SORT_FIELDS, fields=SEARCH_FIELDS)
    fields = dict(paging.fields)
    if "userDn" not in fields or not fields["userDn"]:
        raise bad_request("search sessions by user: fieldValuePair=userDn=<userDn, inum or uid>")
    state = fields.get("state")
    if state not in (None, "authenticated"):
        raise bad_request('state may only be "authenticated" (the live sessions)')
    user = await _user_or_404(store, fields["userDn"])
    now = int(time.time())
    sessions = await store.list_sessions(user.inum, live_at=now if state else None)
    sessions.sort(key=_SORT_KEYS[paging.sort_by], reverse=paging.descending)
    page = sessions[paging.start : paging.start + paging.limit]
    return paged(len(sessions), paging.start, [session_json(s, now) for s in page])


async def get(store: Store, sid: str) -> dict[str, Any]:
    session = await store.get_session(sid)
    if session is None:
        raise not_found(f"no session {sid}")
    return session_json(session, int(time.time()))


def _audit(caller: Caller, details: dict[str, Any]) -> AuditEvent:
    return audit_event(
        Action.END_SESSION, Actor.ADMIN.of(caller.client_id), Reason.CONFIG_API, None, details
    )


async def end(store: Store, sid: str, caller: Caller) -> dict[str, Any]:
    """End one session. 404 when there is no such session, or it had already ended."""
    session = await store.get_session(sid)
    if session is None:
        raise not_found(f"no session {sid}")
    audit = _audit(caller, {"sessionId": sid, "userId": session.user_id})
    ended = await store.end_sessions(SessionEnd.of(sid), int(time.time()), audit)
    if not ended.sids:
        raise not_found(f"session {sid} has already ended")
    return {"endedSessions": list(ended.sids), "revokedTokens": ended.tokens_revoked}


async def end_user(store: Store, name: str, caller: Caller) -> dict[str, Any]:
    """End every session of the user (404: no such user)."""
    user = await _user_or_404(store, name)
    sids, revoked = await end_user_sessions(store, user.inum, _audit(caller, {}), int(time.time()))
    return {"userId": user.inum, "endedSessions": list(sids), "revokedTokens": revoked}
