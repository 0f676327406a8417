"""Audit records of config-API writes: who (the caller's client id), which operation, which
resource, and what changed, member by member. Secrets never appear: a client secret, a
receiver's `authorization` or a script's configuration properties are recorded only as
"(changed)". Token revocations are audited by the store with the revocation itself."""

from __future__ import annotations

import time
from typing import Any

from tokenrevoke.configapi import clients as client_admin
from tokenrevoke.configapi import config as config_admin
from tokenrevoke.configapi import scopes as scope_admin
from tokenrevoke.configapi import scripts as script_admin
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import AuditEvent
from tokenrevoke.store.base import Store

# Members whose values are secrets, wherever they appear (nested ones included).
SECRET_MEMBERS = frozenset({"clientSecret", "authorization", "password", "configurationProperties"})
CHANGED = "(changed)"
REDACTED = "(redacted)"
_LONG = 256  # longer strings (a script's source) are recorded by digest and length

CLIENT, SCOPE, SCRIPT, PROPERTIES = "client", "scope", "script", "properties"


async def snapshot(
    store: Store, base_url: str, kind: str, key: str | None
) -> dict[str, Any] | None:
    """The resource as the config API shows it, plus its secret's hash for a client (so
    that a new secret shows as a change; the hash is never recorded)."""
    if kind == PROPERTIES:
        return dict((await config_admin.effective(store, base_url)).values)
    if not key:
        return None
    if kind == CLIENT:
        client = await store.get_client(key)
        if client is None:
            return None
        return {**client_admin.client_json(client), "clientSecret": client.secret_hash}
    if kind == SCOPE:
        found = [s for s in await store.list_scopes() if s.inum == key]
        return scope_admin.scope_json(found[0]) if found else None
    if kind == SCRIPT:
        scripts = [s for s in await store.list_scripts() if s.inum == key]
        return script_admin.script_json(scripts[0]) if scripts else None
    return None


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """{member: {"from": old, "to": new}} for every member that differs (nested objects
    by dotted path), secrets as "(changed)"."""
    out: dict[str, Any] = {}
    _diff(before or {}, after or {}, "", out)
    return out


def _diff(before: dict[str, Any], after: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for name in sorted(set(before) | set(after), key=str):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        path = prefix + str(name)
        if name in SECRET_MEMBERS:
            out[path] = CHANGED
        elif isinstance(old, dict) and isinstance(new, dict):
            _diff(old, new, path + ".", out)
        else:
            out[path] = {"from": _shown(old), "to": _shown(new)}


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_MEMBERS else _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, str) and len(value) > _LONG:
        return {"sha256": sha256_hex(value), "length": len(value)}
    return value


async def record(
    store: Store,
    caller_client_id: str,
    operation_id: str,
    kind: str,
    key: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write the audit record of one committed config-API write."""
    await store.append_audit(
        int(time.time()),
        AuditEvent(
            action=operation_id,
            actor=f"admin:{caller_client_id}",
            reason="config_api",
            client_id=key if kind == CLIENT else None,
            details={
                "resource": {"type": kind, "id": key},
                "changes": changes(before, after),
            },
        ),
    )
