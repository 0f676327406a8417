"""Janssen's `/revoke_session`: a client holding the `revoke_session` scope ends every
session of one user, at every client (RevokeSessionRestWebService; Janssen's docs call it
deprecated in favour of global token revocation, which ends sessions too).

Order of checks: client authentication (401; public clients may not use it), the
REVOKE_SESSION flag (403), the `revoke_session` scope (403 insufficient_scope, as our global
token revocation answers; Janssen says 401 invalid_request), the user criterion (400),
then the revocation. The user is found by `user_criterion_key` = `user_criterion_value`
(uid, inum or mail; the first user by inum when several share a mail, as Janssen takes the
first found). An unknown user gets the same 200 as a known one (no user enumeration).

Ending a session revokes every token issued in it (store.end_sessions), with an audit
record and a revocation event, in one transaction per batch of sessions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tokenrevoke.model import AppConfiguration, AuditEvent, FeatureFlag
from tokenrevoke.model.scope_ids import REVOKE_SESSION
from tokenrevoke.model.session import SessionEnd
from tokenrevoke.oauth.client_auth import (
    AuthenticatedClient,
    ClientAuthenticator,
    holds_scope,
    require_confidential_client,
)
from tokenrevoke.oauth.errors import access_denied, insufficient_scope, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.revoking import Action, Actor, Reason, audit_event
from tokenrevoke.paths import REVOKE_SESSION_PATH
from tokenrevoke.store.base import Store

log = logging.getLogger("tokenrevoke.revoke_session")

# Janssen's user attribute names (its userService.getUserByAttribute takes any); ours are
# the ones users have here.
CRITERIA = ("uid", "inum", "mail")
MAX_VALUE_LENGTH = 1024


def endpoint_url(cfg: AppConfiguration) -> str:
    """Derived from the issuer, as Janssen derives it (discovery: session_revocation_endpoint)."""
    return f"{cfg['issuer']}{REVOKE_SESSION_PATH}"


@dataclass(frozen=True, slots=True)
class SessionRevocationOutcome:
    user_id: str | None  # the inum found (None: nobody matched)
    sessions: tuple[str, ...]  # the sids newly ended
    revoked: int  # tokens newly revoked


def parse_criterion(request: OAuthRequest) -> tuple[str, str]:
    key = (request.param("user_criterion_key") or "").strip()
    value = (request.param("user_criterion_value") or "").strip()
    if not key or not value:
        raise invalid_request("user_criterion_key and user_criterion_value are required")
    if key not in CRITERIA:
        raise invalid_request(
            f"unsupported user_criterion_key {key[:64]!r}", f"supported: {', '.join(CRITERIA)}"
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise invalid_request("user_criterion_value is too long")
    return key, value


async def find_user(store: Store, key: str, value: str) -> str | None:
    """The inum of the user the criterion names, or None."""
    if key == "uid":
        user = await store.get_user_by_uid(value)
    elif key == "inum":
        user = await store.get_user(value)
    else:
        found = await store.find_users_by_email(value)
        user = found[0] if found else None
    return user.inum if user is not None else None


async def end_user_sessions(
    store: Store, user_id: str, audit: AuditEvent, at: int
) -> tuple[tuple[str, ...], int]:
    """End every session of the user and revoke the tokens issued in them. Shared by this
    endpoint, the config API and global token revocation."""
    details = {**audit.details, "userId": user_id}
    audit = AuditEvent(audit.action, audit.actor, audit.reason, audit.client_id, details)
    ended = await store.end_sessions(SessionEnd.of_user(user_id), at, audit)
    return ended.sids, ended.tokens_revoked


class SessionRevocationService:
    def __init__(
        self,
        store: Store,
        authenticator: ClientAuthenticator,
        config: Callable[[], AppConfiguration],
    ) -> None:
        self._store = store
        self._auth = authenticator
        self._config = config

    async def revoke(self, request: OAuthRequest) -> SessionRevocationOutcome:
        auth = await self._authenticate(request)
        if not self._config().enabled(FeatureFlag.REVOKE_SESSION):
            raise access_denied(
                "the session revocation endpoint is disabled", "REVOKE_SESSION is off"
            )
        if not holds_scope(auth, REVOKE_SESSION):
            raise insufficient_scope(REVOKE_SESSION)
        key, value = parse_criterion(request)
        user_id = await find_user(self._store, key, value)
        if user_id is None:
            log.info("revoke_session by client %s: no user matched", auth.client.client_id)
            return SessionRevocationOutcome(None, (), 0)
        client_id = auth.client.client_id
        audit = audit_event(
            Action.END_SESSION,
            Actor.CLIENT.of(client_id),
            Reason.REVOKE_SESSION_ENDPOINT,
            client_id,
            {"criterion": key},
        )
        sids, revoked = await end_user_sessions(self._store, user_id, audit, int(time.time()))
        log.info(
            "revoke_session by client %s: user %s, %d sessions ended, %d tokens revoked",
            auth.client.client_id, user_id, len(sids), revoked,
        )  # fmt: skip
        return SessionRevocationOutcome(user_id, sids, revoked)

    async def _authenticate(self, request: OAuthRequest) -> AuthenticatedClient:
        result = await self._auth.authenticate(request, allow_bearer=True)
        return require_confidential_client(result, request)


__all__ = [
    "CRITERIA",
    "SessionRevocationOutcome",
    "SessionRevocationService",
    "end_user_sessions",
    "endpoint_url",
    "find_user",
]
