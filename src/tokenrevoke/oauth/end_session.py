"""RP-initiated logout: `/end_session` (OpenID Connect RP-Initiated Logout 1.0; Janssen's
EndSessionRestWebService, its parameter and error names).

Order of checks: the END_SESSION flag (403), the parameters (400), the `id_token_hint`
(400 `invalid_grant_and_session` unless it is an ID token this server issued, signed by
one of its keys; an expired one is accepted, as section 2 allows, unless
`rejectEndSessionIfIdTokenExpired`), the session, then `post_logout_redirect_uri`, which
must be registered for the client exactly (`postLogoutRedirectUris`). No error is ever
redirected: a redirect goes only to a URI the client registered, and only after success.

Which session ends: the one the id_token_hint was issued in, or, without a hint, the one
the browser's cookie names; a hint from another session than the browser's is refused.
Without a hint the request may come from any page on the web (logout CSRF), so the user
is asked first (`confirm`), on a form the web layer protects against CSRF. Ending a
session revokes exactly the tokens issued in it (store.end_sessions), with an audit
record and a revocation event; the user's other sessions are left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import AppConfiguration, Client, FeatureFlag, TokenType
from tokenrevoke.model.session import SessionEnd, SessionRecord
from tokenrevoke.oauth.errors import OAuthError, access_denied, invalid_request
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.revoking import Action, Actor, Reason, audit_event
from tokenrevoke.store.base import Store

log = logging.getLogger("tokenrevoke.end_session")

PARAMETERS = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "sid",
              "session_id", "ui_locales", "logout_hint")  # fmt: skip
# Long enough for any ID token of ours (a few hundred bytes) or URI a client registers.
MAX_HINT_LENGTH = 16_384
MAX_PARAMETER_LENGTH = 2_048
# Janssen's EndSessionErrorResponseType names.
INVALID_GRANT_AND_SESSION = "invalid_grant_and_session"
URI_NOT_ASSOCIATED = "post_logout_uri_not_associated_with_client"
_NEVER_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob"})


def _error(error: str, description: str, reason: str | None = None) -> OAuthError:
    return OAuthError(400, error, description, reason)


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    id_token_hint: str | None = None
    post_logout_redirect_uri: str | None = None
    state: str | None = None
    client_id: str | None = None
    sid: str | None = None  # Janssen's `sid` (its document says `session_id`: both taken)

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> LogoutRequest:
        values: dict[str, str | None] = {}
        for name in PARAMETERS:
            value = params.get(name)
            limit = MAX_HINT_LENGTH if name == "id_token_hint" else MAX_PARAMETER_LENGTH
            if value is not None and len(value) > limit:
                raise invalid_request(f"{name} is too long (at most {limit} characters)")
            values[name] = value or None  # a blank parameter is an absent one
        sid, session_id = values["sid"], values["session_id"]
        if sid and session_id and sid != session_id:
            raise invalid_request("sid and session_id name different sessions")
        return cls(
            id_token_hint=values["id_token_hint"],
            post_logout_redirect_uri=values["post_logout_redirect_uri"],
            state=values["state"],
            client_id=values["client_id"],
            sid=sid or session_id,
        )


@dataclass(frozen=True, slots=True)
class Hint:
    """What a verified id_token_hint tells: who, for which client, in which session."""

    client_id: str
    user_id: str | None
    sid: str | None


@dataclass(frozen=True, slots=True)
class LogoutOutcome:
    """`confirm`: nothing was ended; the user must confirm first (the web layer renders a
    form carrying the request). Otherwise the session was ended (or there was none)."""

    confirm: bool
    redirect_to: str | None  # the registered post_logout_redirect_uri, with `state`
    ended: tuple[str, ...] = ()
    revoked: int = 0
    clear_cookie: bool = True
    client_name: str | None = None


class EndSessionService:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        config: Callable[[], AppConfiguration],
        clients: Callable[[str], Awaitable[Client | None]],
    ) -> None:
        self._store = store
        self._keys = keys
        self._config = config
        self._clients = clients

    async def browser_session(self, cookie: str | None) -> SessionRecord | None:
        """The session the browser's cookie names, live or not."""
        if not cookie:
            return None
        return await self._store.get_session_by_cookie(sha256_hex(cookie))

    async def end(
        self, request: LogoutRequest, browser: SessionRecord | None, confirmed: bool
    ) -> LogoutOutcome:
        """`browser`: the session of the browser's cookie; `confirmed`: the user confirmed
        on our form (its CSRF token checked by the web layer)."""
        cfg = self._config()
        if not cfg.enabled(FeatureFlag.END_SESSION):
            raise access_denied("the end session endpoint is disabled", "END_SESSION is off")
        now = int(time.time())
        hint = await self._hint(request.id_token_hint, cfg, now) if request.id_token_hint else None
        if hint is None and cfg.force_id_token_hint_presence:
            raise invalid_request("id_token_hint is required", "forceIdTokenHintPresence is on")
        live = browser if browser is not None and browser.is_live(now) else None
        sid = _session_to_end(request, hint, live)
        client = await self._client(request, hint)
        redirect_to = _redirect(request, client)
        if hint is None and sid is not None and not confirmed:
            # Any page could have sent the browser here: the user decides (section 6).
            name = client.client_name if client is not None else None
            return LogoutOutcome(True, redirect_to, clear_cookie=False, client_name=name)
        ended: tuple[str, ...] = ()
        revoked = 0
        if sid is not None:
            user = hint.user_id if hint is not None else live.user_id if live else None
            audit = audit_event(
                Action.END_SESSION,
                Actor.CLIENT.of(hint.client_id) if hint else Actor.USER.of(str(user)),
                Reason.END_SESSION_ENDPOINT,
                client.client_id if client is not None else None,
                {"sessionId": sid, "userId": user, "via": "id_token_hint" if hint else "browser"},
            )
            result = await self._store.end_sessions(SessionEnd.of(sid), now, audit)
            ended, revoked = result.sids, result.tokens_revoked
            log.info(
                "end_session: session %s %s, %d tokens revoked (%s)",
                sid, "ended" if ended else "was already over", revoked,
                "id_token_hint" if hint else "browser",
            )  # fmt: skip
        # The cookie goes when it named this session or nothing live; a browser signed in
        # to another session keeps its cookie (a hint of an older session ends only that).
        clear = browser is None or live is None or live.sid == sid
        return LogoutOutcome(False, redirect_to, ended, revoked, clear)

    async def _hint(self, token: str, cfg: AppConfiguration, now: int) -> Hint:
        refused = _error(
            INVALID_GRANT_AND_SESSION, "id_token_hint is not an ID token issued by this server"
        )
        claims = self._keys.verify(token, allow_expired=True)
        if claims is None or claims.get("iss") != cfg.issuer:
            raise refused
        if jwt.get_unverified_header(token).get("typ") == "at+jwt":  # signed: authentic
            raise refused  # a JWT access token of ours is no ID token
        record = await self._store.get_token(sha256_hex(token))
        expired = not isinstance(claims.get("exp"), int) or claims["exp"] <= now
        if record is None and not expired:
            raise refused  # every ID token we issue is stored until it expires
        if record is not None and record.token_type is not TokenType.ID_TOKEN:
            raise refused
        if expired and cfg.reject_end_session_if_id_token_expired:
            raise _error(
                INVALID_GRANT_AND_SESSION,
                "id_token_hint has expired",
                "rejectEndSessionIfIdTokenExpired is on",
            )
        if record is not None:
            return Hint(record.client_id, record.user_id, record.session_id or _sid(claims))
        audience = _audience(claims)
        if audience is None:
            raise refused
        sub = claims.get("sub")
        return Hint(audience, sub if isinstance(sub, str) else None, _sid(claims))

    async def _client(self, request: LogoutRequest, hint: Hint | None) -> Client | None:
        client_id = request.client_id
        if hint is not None:
            if client_id is not None and client_id != hint.client_id:
                raise invalid_request("client_id is not the client the id_token_hint was issued to")
            client_id = hint.client_id
        if client_id is None:
            if request.post_logout_redirect_uri is not None:
                raise invalid_request(
                    "post_logout_redirect_uri needs id_token_hint or client_id "
                    "(to check it against the client's registered URIs)"
                )
            return None
        client = await self._clients(client_id)
        if client is None or client.disabled:
            if request.post_logout_redirect_uri is not None:
                raise _error(URI_NOT_ASSOCIATED, "no such client, or it is disabled")
            return None
        return client


def _session_to_end(
    request: LogoutRequest, hint: Hint | None, live: SessionRecord | None
) -> str | None:
    """The sid to end (None: there is nothing to end), or a 400."""
    if hint is not None:
        if request.sid is not None and hint.sid is not None and request.sid != hint.sid:
            raise invalid_request("sid is not the session the id_token_hint was issued in")
        sid = hint.sid or request.sid
        if sid is None:
            # An ID token issued outside any session (the password grant): the browser's
            # session, if it is the same user's.
            if live is None or live.user_id != hint.user_id:
                raise _error(INVALID_GRANT_AND_SESSION, "no session to end was identified")
            return live.sid
        if live is not None and live.sid != sid:
            raise invalid_request("the id_token_hint was issued in another session than this one")
        return sid
    if request.sid is not None and (live is None or live.sid != request.sid):
        raise _error(INVALID_GRANT_AND_SESSION, "sid does not name this browser's session")
    return live.sid if live is not None else None


def _redirect(request: LogoutRequest, client: Client | None) -> str | None:
    uri = request.post_logout_redirect_uri
    if uri is None:
        return None
    registered = client.extra.get("postLogoutRedirectUris") if client is not None else None
    # Exact string comparison (section 3: "MUST have been previously registered"): no
    # prefix, no normalisation, so no lookalike host or path can pass. Never a fragment,
    # nor a scheme that runs or reads something in the browser, even if registered.
    scheme = urlsplit(uri).scheme.lower()
    if (
        not isinstance(registered, list)
        or uri not in registered
        or "#" in uri
        or scheme in _NEVER_SCHEMES
    ):
        raise _error(
            URI_NOT_ASSOCIATED,
            "post_logout_redirect_uri is not registered for the client",
            "it must be one of the client's postLogoutRedirectUris, exactly",
        )
    return with_state(uri, request.state)


def with_state(uri: str, state: str | None) -> str:
    """The URI with `state` added to its query (section 3), its own query kept."""
    if state is None:
        return uri
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _sid(claims: Mapping[str, Any]) -> str | None:
    sid = claims.get("sid")
    return sid if isinstance(sid, str) and sid else None


def _audience(claims: Mapping[str, Any]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    azp = claims.get("azp")
    return azp if isinstance(azp, str) else None


__all__ = ["EndSessionService", "LogoutOutcome", "LogoutRequest", "with_state"]
