"""Scope resources (Janssen's ScopesResource): the built-in scopes are created on start."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

from tokenrevoke.configapi.errors import bad_request
from tokenrevoke.crypto import new_id
from tokenrevoke.model import Scope, ScopeType
from tokenrevoke.model.scopes import BUILTIN_SCOPES, OPENID
from tokenrevoke.store.base import ConflictError, Store


def scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "dn": scope.dn,
        "inum": scope.inum,
        "id": scope.id,
        "displayName": scope.display_name,
        "description": scope.description,
        "scopeType": scope.scope_type.value,
        "defaultScope": scope.default_scope,
        "attributes": {"showInConfigurationEndpoint": scope.show_in_configuration_endpoint},
        "creationDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(scope.creation_date)),
        "umaType": scope.scope_type is ScopeType.UMA,
    }


def scope_from_json(data: Any, base: Scope | None) -> Scope:
    if not isinstance(data, dict):
        raise bad_request("the scope must be a JSON object")
    scope_id = data.get("id", base.id if base else None)
    if not isinstance(scope_id, str) or not scope_id.strip() or any(c.isspace() for c in scope_id):
        raise bad_request("id is required and must be a non-empty string without spaces")
    try:
        scope_type = ScopeType(data.get("scopeType") or (base.scope_type if base else "oauth"))
    except ValueError:
        raise bad_request(
            f"scopeType must be one of {', '.join(t.value for t in ScopeType)}"
        ) from None
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise bad_request("attributes must be an object")
    fields = {"displayName": str, "description": str, "defaultScope": bool}
    for name, kind in fields.items():
        if name in data and data[name] is not None and not isinstance(data[name], kind):
            raise bad_request(f"{name} has the wrong type")
    seed = base or Scope(inum=new_id(), id=scope_id, creation_date=int(time.time()))
    inum = data.get("inum")
    return dataclasses.replace(
        seed,
        inum=inum if isinstance(inum, str) and inum else seed.inum,
        id=scope_id,
        display_name=data.get("displayName") or seed.display_name or scope_id,
        description=data.get("description") or seed.description,
        scope_type=scope_type,
        default_scope=bool(data.get("defaultScope", seed.default_scope)),
        show_in_configuration_endpoint=bool(
            attributes.get("showInConfigurationEndpoint", seed.show_in_configuration_endpoint)
        ),
    )


async def ensure_builtin_scopes(store: Store) -> None:
    """Create the scopes the server relies on, once; operators may edit them afterwards.
    Workers or nodes starting together on a new store may race to do it: whoever loses
    finds the scope there, which is all it wanted."""
    existing = {s.id for s in await store.list_scopes()}
    now = int(time.time())
    for scope_id in BUILTIN_SCOPES:
        if scope_id not in existing:
            kind = ScopeType.OPENID if scope_id == OPENID else ScopeType.OAUTH
            with contextlib.suppress(ConflictError):
                await store.save_scope(
                    Scope(new_id(), scope_id, scope_id, "", kind, creation_date=now)
                )
