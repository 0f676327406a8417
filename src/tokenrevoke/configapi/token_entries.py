"""Token resources: read, search and revoke stored tokens (Janssen's TokenResource).

DELETE accepts the hashed code or the raw token and cascades to the grant, as /revoke
does; revoked tokens stay readable, with their revocation time, until purged. Revoking a
user (our extension) ends them exactly as the global token revocation endpoint does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tokenrevoke.configapi.errors import not_found
from tokenrevoke.configapi.paging import paged, parse_paging
from tokenrevoke.configapi.security import Caller
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import AuditEvent, TokenRecord
from tokenrevoke.oauth import global_revocation
from tokenrevoke.oauth.revoking import (
    Actor,
    MetricPath,
    Outcome,
    Reason,
    count,
    global_audit,
    grant_of,
)
from tokenrevoke.store.base import (
    TOKEN_ATTRIBUTES,
    Store,
    StoreUnavailable,
    TokenQuery,
)

SEARCH_FIELDS = tuple(TOKEN_ATTRIBUTES)
CLIENT_PAGE_LIMIT = 200
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z


def janssen_date(epoch: int | None) -> str | None:
    """Janssen's date format (`2024-09-23T15:03:50`), in UTC."""
    if epoch is None:
        return None
    epoch = min(max(epoch, 0), _LAST_SECOND)  # never fail on an out-of-range stored time
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def token_attributes(
    stored: Mapping[str, Any], record: TokenRecord | None = None
) -> dict[str, Any]:
    """Janssen's TokenAttributes: the certificate thumbprint a token is bound to as
    `x5cs256`, its Token Status List index as `statusListIndex`, the rest of what we keep
    about it (username, auth_time, the token a refresh token was rotated from, the id of
    its status list as `statusList`: Janssen has one list) as the `attributes` string map."""
    out: dict[str, Any] = {}
    others = {k: str(v) for k, v in stored.items() if k != "x5t#S256" and v is not None}
    if stored.get("x5t#S256"):
        out["x5cs256"] = str(stored["x5t#S256"])
    if record is not None and record.status_idx is not None:
        out["statusListIndex"] = record.status_idx
        others["statusList"] = str(record.status_list)
    if others:
        out["attributes"] = others
    return out


def token_json(record: TokenRecord) -> dict[str, Any]:
    """Janssen's TokenEntity JSON, plus our revocation fields."""
    out: dict[str, Any] = {
        "dn": f"tknCde={record.code},ou=tokens,o=jans",
        "grantId": record.grant_id,
        "userId": record.user_id,
        "userDn": record.user_dn,
        "clientId": record.client_id,
        "creationDate": janssen_date(record.created_at),
        "expirationDate": janssen_date(record.expires_at),
        "deletable": record.deletable,
        "scope": record.scope,
        "tokenCode": record.code,
        "tokenType": record.token_type.value,
        "grantType": record.grant_type,
        "referenceId": record.reference_id,
        "sessionDn": record.session_id,
        "attributes": token_attributes(record.attributes, record),
        "tokenTypeEnum": record.token_type.enum_name,
        "revoked": record.revoked_at is not None,
    }
    if record.revoked_at is not None:
        out.update(
            revocationDate=janssen_date(record.revoked_at),
            revokedBy=record.revoked_by,
            revocationReason=record.revoke_reason,
        )
    return {k: v for k, v in out.items() if v is not None}


async def get_token(store: Store, code: str) -> dict[str, Any]:
    record = await store.get_token(code)
    if record is None:
        raise not_found(f"no token with tknCde {code}")
    return token_json(record)


async def search(store: Store, params: Mapping[str, str]) -> dict[str, Any]:
    paging = parse_paging(
        params, sort_default="tknCde", sortable=SEARCH_FIELDS, fields=SEARCH_FIELDS
    )
    query = TokenQuery(
        patterns=paging.patterns,
        fields=paging.fields,
        start=paging.start,
        limit=paging.limit,
        sort_by=paging.sort_by,
        descending=paging.descending,
    )
    total, records = await store.search_tokens(query)
    return paged(total, paging.start, [token_json(r) for r in records])


async def by_client(store: Store, client_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    if await store.get_client(client_id) is None:
        raise not_found(f"no client {client_id}")
    paging = parse_paging(
        params, sort_default="tknCde", sortable=SEARCH_FIELDS, fields=SEARCH_FIELDS
    )
    query = TokenQuery(
        fields=(("clnId", client_id), *paging.fields),
        start=paging.start,
        limit=paging.limit if "limit" in params else CLIENT_PAGE_LIMIT,
        sort_by=paging.sort_by,
        descending=paging.descending,
    )
    total, records = await store.search_tokens(query)
    return paged(total, paging.start, [token_json(r) for r in records])


async def revoke(store: Store, code_or_token: str, caller: Caller) -> int:
    """Revoke the token's whole grant. 404 when unknown, expired or already revoked.
    Looked up and revoked in one store job, as /revoke's tokens are."""
    now = int(time.time())
    actor = Actor.ADMIN.of(caller.client_id)

    def plan(records: list[TokenRecord]) -> tuple[set[str], AuditEvent] | None:
        token = _named(records, code_or_token, now)
        if token is None:
            return None
        return {token.grant_id}, grant_of(token, actor, Reason.CONFIG_API).audit

    codes = [code_or_token, sha256_hex(code_or_token)]
    try:
        records, revoked = await store.revoke_grants_of(codes, plan, now)
    except StoreUnavailable:
        count(MetricPath.CONFIG_API, Outcome.STORE_ERROR)
        raise
    count(MetricPath.CONFIG_API, Outcome.of(revoked), revoked)
    if _named(records, code_or_token, now) is None:
        raise not_found("no such live token (unknown, expired or already revoked)")
    return revoked


def _named(records: list[TokenRecord], code_or_token: str, now: int) -> TokenRecord | None:
    """The live token `code_or_token` names among those found: by hashed code first, then
    as a raw token."""
    by_code = {r.code: r for r in records}
    token = by_code.get(code_or_token) or by_code.get(sha256_hex(code_or_token))
    return token if token is not None and token.is_live(now) else None


async def revoke_user(store: Store, user_id: str, caller: Caller) -> dict[str, Any]:
    """Every token of the user (by inum, else by uid), of every client, and of every
    session of theirs. An id that names no user still revokes the tokens whose userId it
    is (a deleted user's); 404 only when it names nobody and nothing was revoked."""
    user = await store.get_user(user_id) or await store.get_user_by_uid(user_id)
    inum = user.inum if user is not None else user_id
    audit = global_audit(Actor.ADMIN.of(caller.client_id), Reason.CONFIG_API, "config_api")
    revoked, sessions = await global_revocation.end_user(store, inum, audit, int(time.time()))
    if user is None and not revoked:
        raise not_found(f"no user {user_id} (by inum or uid) and no live tokens of one")
    out: dict[str, Any] = {"userId": inum, "revokedTokens": revoked, "endedSessions": len(sessions)}
    if user is not None:
        out["uid"] = user.uid
    return out
