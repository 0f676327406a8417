"""Scope resources (Janssen's ScopesResource): the built-in scopes are created on start."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

from tokenrevoke.configapi.errors import bad_request, not_found
from tokenrevoke.configapi.janssen_schema import SCOPE, SCOPE_ATTRIBUTES, SchemaError, check
from tokenrevoke.crypto import new_id
from tokenrevoke.model import Scope, ScopeType
from tokenrevoke.model.scope_ids import BUILTIN_SCOPES, OPENID
from tokenrevoke.store.base import ConflictError, Store

# Members computed here (never taken from a body) and those this server interprets; the
# rest of Janssen's Scope schema is kept in `Scope.extra`.
_DERIVED = ("dn", "baseDn", "inum", "creationDate", "umaType")
_INTERPRETED = ("id", "displayName", "description", "scopeType", "defaultScope", "attributes")


def scope_json(scope: Scope) -> dict[str, Any]:
    """Janssen's scope JSON (members without a value left out: the schema has no nulls)."""
    extra = dict(scope.extra)
    attributes = {
        **(extra.pop("attributes", None) or {}),
        "showInConfigurationEndpoint": scope.show_in_configuration_endpoint,
    }
    return {
        **extra,
        "dn": scope.dn,
        "baseDn": scope.dn,
        "inum": scope.inum,
        "id": scope.id,
        "displayName": scope.display_name,
        "description": scope.description,
        "scopeType": scope.scope_type.value,
        "defaultScope": scope.default_scope,
        "attributes": attributes,
        "creationDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(scope.creation_date)),
        "umaType": scope.scope_type is ScopeType.UMA,
    }


def patch_base(scope: Scope) -> dict[str, Any]:
    """What a JSON Patch applies to: the scope's JSON with every member of Janssen's schema
    present (null where it has no value), so that `replace` works on any of them."""
    document = scope_json(scope)
    attributes = {**dict.fromkeys(SCOPE_ATTRIBUTES), **document.pop("attributes")}
    return {**dict.fromkeys(SCOPE), **document, "attributes": attributes}


def _checked(data: dict[str, Any], table: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return {k: check(where + k, v, table[k]) for k, v in data.items() if k in table}
    except SchemaError as exc:
        raise bad_request(str(exc)) from None


def scope_from_json(data: Any, base: Scope | None) -> Scope:
    if not isinstance(data, dict):
        raise bad_request("the scope must be a JSON object")
    given = _checked(data, SCOPE, "")
    attributes = _checked(given.get("attributes") or {}, SCOPE_ATTRIBUTES, "attributes.")
    scope_id = given.get("id", base.id if base else None)
    if not isinstance(scope_id, str) or not scope_id.strip() or any(c.isspace() for c in scope_id):
        raise bad_request("id is required and must be a non-empty string without spaces")
    scope_type = ScopeType(given.get("scopeType") or (base.scope_type if base else "oauth"))
    extra = {
        k: v
        for k, v in given.items()
        if v is not None and k not in _DERIVED and k not in _INTERPRETED
    }
    extra_attributes = {
        k: v for k, v in attributes.items() if v is not None and k != "showInConfigurationEndpoint"
    }
    if extra_attributes:
        extra["attributes"] = extra_attributes
    seed = base or Scope(inum=new_id(), id=scope_id, creation_date=int(time.time()))
    inum = given.get("inum")
    show = attributes.get("showInConfigurationEndpoint")
    default_scope = given.get("defaultScope")
    return dataclasses.replace(
        seed,
        inum=inum or seed.inum,
        id=scope_id,
        display_name=given.get("displayName") or seed.display_name or scope_id,
        description=given.get("description") or seed.description,
        scope_type=scope_type,
        default_scope=seed.default_scope if default_scope is None else default_scope,
        show_in_configuration_endpoint=(
            seed.show_in_configuration_endpoint if show is None else show
        ),
        extra=extra,
    )


@dataclasses.dataclass
class Scopes:
    """Scopes as a config-API resource (configapi/resources.py)."""

    store: Store
    noun = "scope"
    fields = ("inum", "id", "displayName", "scopeType", "defaultScope")
    searched = ("id", "displayName", "description")

    async def load(self, key: str) -> Scope:
        for scope in await self.store.list_scopes():
            if scope.inum == key:
                return scope
        raise not_found(f"no scope {key}")

    async def items(self, kind: str | None) -> list[Scope]:
        return [s for s in await self.store.list_scopes() if not kind or s.scope_type.value == kind]

    def key(self, item: Scope) -> str:
        return item.inum

    def fresh(self, data: Any) -> Any:
        return {k: v for k, v in data.items() if k != "inum"} if isinstance(data, dict) else data

    async def from_json(self, data: Any, base: Scope | None) -> Scope:
        return scope_from_json(data, base)

    async def to_json(self, item: Scope) -> dict[str, Any]:
        return scope_json(item)

    async def patch_base(self, item: Scope) -> dict[str, Any]:
        return patch_base(item)

    async def save(self, item: Scope, existing: Scope | None, data: Any) -> dict[str, Any]:
        await self.store.save_scope(item)
        return scope_json(item)

    async def delete(self, key: str) -> bool:
        return await self.store.delete_scope(key)


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
