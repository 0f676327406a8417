"""Global token revocation: end a user everywhere (Janssen's `/global-token-revocation`,
draft-parecki-oauth-global-token-revocation).

Order of checks: client authentication (401; public clients cannot use it), the
GLOBAL_TOKEN_REVOCATION flag (403), the `global_token_revocation` scope (403), the subject
identifier (400), then the revocation. An unknown user gets the same 204 as a known one
(no user enumeration).

"Ending a user" (`end_user`) means: every browser session of the user ends (so the next
`/authorize` asks for the password again, as the draft requires), with every token issued
in it; every token whose `usrId` is the user's inum is revoked, whichever client holds it;
and so is every token bound to any session the user's tokens name (`ssnId`), including
tokens of those sessions that carry no user.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokenrevoke.model import AppConfiguration, AuditEvent, FeatureFlag
from tokenrevoke.model.scope_ids import GLOBAL_TOKEN_REVOCATION
from tokenrevoke.model.session import SessionEnd
from tokenrevoke.oauth.client_auth import (
    AuthenticatedClient,
    ClientAuthenticator,
    holds_scope,
    require_confidential_client,
)
from tokenrevoke.oauth.errors import access_denied, insufficient_scope, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.revoking import Actor, Reason, global_audit, of_session, of_user, run
from tokenrevoke.paths import GLOBAL_TOKEN_REVOCATION_PATH
from tokenrevoke.store.base import Store

log = logging.getLogger("tokenrevoke.global_revocation")

# The formats we resolve. RFC 9493 names (opaque, email, iss_sub) and Janssen's, where
# `format` is the user attribute to search by (uid, inum, mail); session_id is ours.
USER_ID_FORMATS = ("opaque", "uid", "inum")
EMAIL_FORMATS = ("email", "mail")
ISS_SUB = "iss_sub"
SESSION_ID = "session_id"
SUPPORTED_FORMATS = (*USER_ID_FORMATS, *EMAIL_FORMATS, ISS_SUB, SESSION_ID)
MAX_IDENTIFIER_LENGTH = 1024
# Client authentication this endpoint accepts: RFC 8414 names, and "Bearer" (an access
# token of the client), which the draft takes from the OAuth Access Token Types registry.
AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
    "Bearer",
)


@dataclass(frozen=True, slots=True)
class Subject:
    """A parsed subject identifier: `value` is the id, email, `sub` or session id."""

    format: str
    value: str
    iss: str | None = None


@dataclass(frozen=True, slots=True)
class GlobalRevocationOutcome:
    users: tuple[str, ...]  # the inums whose tokens were revoked (none: nobody matched)
    sessions: tuple[str, ...]  # the sessions ended
    revoked: int  # tokens newly revoked


def endpoint_url(cfg: AppConfiguration) -> str:
    """Derived from the issuer, as Janssen does (there is no property for it)."""
    return f"{cfg['issuer']}{GLOBAL_TOKEN_REVOCATION_PATH}"


def parse_subject(document: Any) -> Subject:
    """The request's subject identifier: `sub_id` (Janssen, and the draft since -01) or
    `subject` (the draft's -00 name), an RFC 9493 object."""
    if not isinstance(document, Mapping):
        raise invalid_request("the request body must be a JSON object")
    present = [name for name in ("sub_id", "subject") if name in document]
    if len(present) != 1:
        raise invalid_request(
            "sub_id is required" if not present else "send sub_id or subject, not both"
        )
    sub_id = document[present[0]]
    if not isinstance(sub_id, Mapping):
        raise invalid_request(f"{present[0]} must be a JSON object")
    fmt = sub_id.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise invalid_request(f"{present[0]}.format is required")
    if fmt not in SUPPORTED_FORMATS:
        raise invalid_request(
            f"unsupported subject identifier format {fmt[:64]!r}",
            f"supported formats: {', '.join(SUPPORTED_FORMATS)}",
        )
    if fmt == ISS_SUB:
        return Subject(fmt, _member(sub_id, "sub"), iss=_member(sub_id, "iss"))
    if fmt in EMAIL_FORMATS:
        # RFC 9493 puts the address in `email`; Janssen sends every value as `id`.
        name = "email" if "email" in sub_id else "id"
        return Subject(fmt, _member(sub_id, name))
    return Subject(fmt, _member(sub_id, "id"))


def _member(sub_id: Mapping[str, Any], name: str) -> str:
    value = sub_id.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_request(f"the subject identifier's {name} is required (a string)")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise invalid_request(f"the subject identifier's {name} is too long")
    return value


async def resolve_users(store: Store, subject: Subject) -> list[str]:
    """The inums a subject names. An id that names no user is taken as an inum anyway:
    tokens outlive a deleted user's record, and revoking nothing is harmless."""
    if subject.format in EMAIL_FORMATS:
        # Every account with that address: revoking too much is safe, too little is not.
        return [user.inum for user in await store.find_users_by_email(subject.value)]
    if subject.format in ("opaque", "uid"):
        user = await store.get_user_by_uid(subject.value)
        if user is not None:
            return [user.inum]
    return [subject.value]  # inum, iss_sub's sub, or an opaque id that is no uid


async def end_user(store: Store, user_id: str, audit: AuditEvent, at: int) -> tuple[int, list[str]]:
    """End the user's browser sessions (with their tokens), revoke every token of the user,
    of every client, then every token of each session the user's tokens name. Returns
    (tokens revoked, sessions ended) after every commit. Shared by the endpoint and the
    config API, so both end a user the same way. The browser sessions end first: a code
    redeemed into one meanwhile is refused from then on (store.redeem_code)."""
    details = {**audit.details, "userId": user_id}
    browser = await store.end_sessions(
        SessionEnd.of_user(user_id),
        at,
        AuditEvent(audit.action, audit.actor, audit.reason, audit.client_id, details),
    )
    sessions = await store.session_ids_of_user(user_id)
    # store.revoke leaves no live token of the user, even one a racing refresh committed.
    revoked = browser.tokens_revoked + await run(store, of_user(user_id, audit, sessions), at)
    for session_id in sessions:
        revoked += await end_session(store, session_id, audit, at, user_id=user_id)
    return revoked, sorted({*sessions, *browser.sids})


async def end_session(
    store: Store, session_id: str, audit: AuditEvent, at: int, *, user_id: str | None = None
) -> int:
    """End the browser session (if it is one and still on) and revoke every token issued
    in it."""
    plan = of_session(session_id, audit, user_id)
    ended = await store.end_sessions(SessionEnd.of(session_id), at, plan.audit)
    return ended.tokens_revoked + await run(store, plan, at)


async def revoke_subject(store: Store, subject: Subject, actor: str) -> GlobalRevocationOutcome:
    """End every user (or the one session) the subject names, durably."""
    at = int(time.time())
    audit = global_audit(actor, Reason.GLOBAL_TOKEN_REVOCATION, subject.format)
    if subject.format == SESSION_ID:
        revoked = await end_session(store, subject.value, audit, at)
        return GlobalRevocationOutcome((), (subject.value,), revoked)
    users = await resolve_users(store, subject)
    revoked, sessions = 0, []
    for user_id in users:
        count, ended = await end_user(store, user_id, audit, at)
        revoked += count
        sessions.extend(ended)
    return GlobalRevocationOutcome(tuple(users), tuple(sessions), revoked)


class GlobalRevocationService:
    def __init__(
        self,
        store: Store,
        authenticator: ClientAuthenticator,
        config: Callable[[], AppConfiguration],
    ) -> None:
        self._store = store
        self._auth = authenticator
        self._config = config

    async def revoke(self, request: OAuthRequest, document: Any) -> GlobalRevocationOutcome:
        """`request` carries the client credentials; `document` is the parsed JSON body."""
        auth = await self._authenticate(request)
        cfg = self._config()
        if not cfg.enabled(FeatureFlag.GLOBAL_TOKEN_REVOCATION):
            raise access_denied(
                "the global token revocation endpoint is disabled", "GLOBAL_TOKEN_REVOCATION is off"
            )
        if not holds_scope(auth, GLOBAL_TOKEN_REVOCATION):
            raise insufficient_scope(GLOBAL_TOKEN_REVOCATION)
        subject = parse_subject(document)
        if subject.format == ISS_SUB and subject.iss != cfg.issuer:
            # Not "unknown user" (204): the issuer is public, and a caller that sent the
            # wrong one must not believe the user was logged out.
            raise invalid_request("iss is not this server's issuer", f"issuer is {cfg['issuer']}")
        outcome = await revoke_subject(self._store, subject, Actor.CLIENT.of(auth.client.client_id))
        log.info(
            "global token revocation by client %s: format %s, users %s, sessions %d, "
            "%d tokens revoked",
            auth.client.client_id, subject.format, list(outcome.users) or "none matched",
            len(outcome.sessions), outcome.revoked,
        )  # fmt: skip
        return outcome

    async def _authenticate(self, request: OAuthRequest) -> AuthenticatedClient:
        result = await self._auth.authenticate(request, allow_bearer=True)
        return require_confidential_client(result, request)


__all__ = [
    "AUTH_METHODS",
    "SUPPORTED_FORMATS",
    "GlobalRevocationOutcome",
    "GlobalRevocationService",
    "Subject",
    "end_user",
    "endpoint_url",
    "parse_subject",
    "resolve_users",
    "revoke_subject",
]
