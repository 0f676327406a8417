"""How every revocation is said: what is done (`Action`), by whom (`Actor`), why
(`Reason`), and which metric path counts it (`MetricPath`, `Outcome`). Each path builds its
`Revocation` (the store's target and the audit record, from which the store writes the
event in the same transaction) with one of the functions here, and runs it with `run`,
which also counts it. The values are the wire and storage contract: audit records,
tombstones' `revokedBy`/`revocationReason`, events (docs/events.md) and the labels of
`tokenrevoke_revocations_total` (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
from tokenrevoke.observability.metrics import revocation
from tokenrevoke.store.base import RevocationTarget, Store, StoreUnavailable


class Action(StrEnum):
    REVOKE = "revoke"  # named grants
    REVOKE_ALL = "revoke_all"  # every token of a client
    GLOBAL_REVOKE = "global_revoke"  # a user or a session, whichever client holds it
    END_SESSION = "end_session"  # browser sessions, with every token issued in them


class Actor(StrEnum):
    """Who revokes: a party named with its client id (`of`), or the server itself."""

    CLIENT = "client"  # a client at /revoke or /global-token-revocation
    ADMIN = "admin"  # a config-API caller
    REUSE_DETECTION = "refresh_token_reuse_detection"  # RFC 9700 section 4.14.2
    CODE_REUSE_DETECTION = "authorization_code_reuse_detection"  # RFC 6749 section 4.1.2
    SECRET_RESET = "admin reset-secret"  # `tokenrevoke admin reset-secret`, locally
    USER = "user"  # a signed-in user confirming their sign-out (/end_session's form)

    def of(self, client_id: str) -> str:
        # `_value_`, a plain attribute: `.value` is a descriptor that costs ~0.3 us a time,
        # and /revoke builds an actor and an audit record per request.
        return f"{self._value_}:{client_id}"


class Reason(StrEnum):
    REVOKE_ENDPOINT = "revoke_endpoint"
    CONFIG_API = "config_api"
    CLIENT_DELETED = "client_deleted"
    SECRET_RESET = "secret_reset"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"
    GLOBAL_TOKEN_REVOCATION = "global_token_revocation"
    AUTHORIZATION_CODE_REUSE = "authorization_code_reuse"
    REPLACED_BY_SIGN_IN = "replaced_by_sign_in"  # another user signed in in that browser
    END_SESSION_ENDPOINT = "end_session_endpoint"  # RP-initiated logout
    REVOKE_SESSION_ENDPOINT = "revoke_session_endpoint"  # Janssen's /revoke_session


class MetricPath(StrEnum):
    """The `path` label of tokenrevoke_revocations_total and _revoked_tokens_total."""

    REVOKE_ENDPOINT = "revoke_endpoint"
    REVOKE_ENDPOINT_ALL = "revoke_endpoint_all"  # token=all / token_type_hint=all
    CONFIG_API = "config_api"  # DELETE of one token
    CLIENT_DELETE = "client_delete"


class Outcome(StrEnum):
    """The `outcome` label of tokenrevoke_revocations_total."""

    REVOKED = "revoked"
    NO_MATCH = "no_match"
    VETOED = "vetoed"  # an interception script stopped it
    REFUSED = "refused"  # a well-formed request the rules refused
    STORE_ERROR = "store_error"

    @staticmethod
    def of(revoked: int) -> Outcome:
        return _REVOKED if revoked else _NO_MATCH


# Count one revocation: count(path, outcome, tokens=0), with a `MetricPath` and an
# `Outcome`. The metrics function itself, not a wrapper: one call less per /revoke.
count = revocation


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revocation as the store runs it, and the metric path that counts it (None:
    counted by its caller, or not at all)."""

    target: RevocationTarget
    audit: AuditEvent
    path: MetricPath | None = None


async def run(store: Store, plan: Revocation, at: int) -> int:
    """Revoke, durably; returns how many tokens were newly revoked."""
    try:
        revoked = await store.revoke(plan.target, at, plan.audit)
    except StoreUnavailable:
        if plan.path is not None:
            count(plan.path, Outcome.STORE_ERROR)
        raise
    if plan.path is not None:
        count(plan.path, Outcome.of(revoked), revoked)
    return revoked


# Members read once here, for the functions of every revocation: on Python 3.11 reading
# `Enum.MEMBER` goes through EnumType.__getattr__ (~0.3 us a time; measured).
_REVOKED, _NO_MATCH, _REVOKE = Outcome.REVOKED, Outcome.NO_MATCH, Action.REVOKE


def audit_event(
    action: Action, actor: str, reason: Reason, client_id: str | None, details: dict[str, Any]
) -> AuditEvent:
    """Plain strings in the record: the stores and events take them as they are."""
    return AuditEvent(action._value_, str(actor), reason._value_, client_id, details)


def grants_audit(
    actor: str,
    reason: Reason,
    client_id: str | None,
    tokens: Collection[TokenRecord],
    *,
    other_clients: Iterable[str] | None = None,
) -> AuditEvent:
    """The audit record of revoking these tokens' grants: the grants and the tokens named,
    and, when asked, the other clients whose tokens were among them."""
    details: dict[str, Any] = {
        "grants": sorted({r.grant_id for r in tokens}),
        "token_codes": sorted({r.code for r in tokens}),
    }
    if other_clients is not None:
        details["other_clients"] = sorted(set(other_clients))
    return audit_event(_REVOKE, actor, reason, client_id, details)


def grant_of(
    token: TokenRecord, actor: str, reason: Reason, path: MetricPath | None = None
) -> Revocation:
    """The grant (the refresh-token family) of one token."""
    audit = grants_audit(actor, reason, token.client_id, [token])
    return Revocation(RevocationTarget.grants([token.grant_id]), audit, path)


def client_tokens(
    client_id: str,
    actor: str,
    reason: Reason,
    token_types: Collection[TokenType] | None = None,
    path: MetricPath | None = None,
    *,
    with_types: bool = False,
) -> Revocation:
    """Every token of a client (of these types); `with_types` records them in the audit."""
    details: dict[str, Any] = {}
    if with_types:
        details["token_types"] = [t.value for t in token_types] if token_types else "all"
    audit = audit_event(Action.REVOKE_ALL, actor, reason, client_id, details)
    return Revocation(RevocationTarget.client(client_id, token_types), audit, path)


def global_audit(actor: str, reason: Reason, subject_format: str) -> AuditEvent:
    """The audit record global revocations start from (`of_user`, `of_session` add to it)."""
    return audit_event(Action.GLOBAL_REVOKE, actor, reason, None, {"format": subject_format})


def of_user(user_id: str, audit: AuditEvent, sessions: list[str]) -> Revocation:
    details = {**audit.details, "userId": user_id, "sessions": sessions}
    return Revocation(RevocationTarget.user(user_id), _with(audit, details))


def of_session(session_id: str, audit: AuditEvent, user_id: str | None = None) -> Revocation:
    details = {**audit.details, "sessionId": session_id}
    if user_id is not None:
        details["userId"] = user_id
    return Revocation(RevocationTarget.session(session_id), _with(audit, details))


def _with(audit: AuditEvent, details: dict[str, Any]) -> AuditEvent:
    return AuditEvent(audit.action, audit.actor, audit.reason, audit.client_id, details)


__all__ = [
    "Action",
    "Actor",
    "MetricPath",
    "Outcome",
    "Reason",
    "Revocation",
    "audit_event",
    "client_tokens",
    "count",
    "global_audit",
    "grant_of",
    "grants_audit",
    "of_session",
    "of_user",
    "run",
]
