"""Reading and changing auth-server properties and feature flags."""

from __future__ import annotations

import copy
from typing import Any

from tokenrevoke.model import AppConfiguration, ConfigError
from tokenrevoke.model.config import validate_document
from tokenrevoke.store.base import Store


async def effective(store: Store, base_url: str) -> AppConfiguration:
    stored, revision = await store.load_config()
    return AppConfiguration.build(stored, revision, base_url)


async def set_properties(store: Store, changes: dict[str, Any]) -> int:
    """Validate and apply property changes atomically (all or nothing)."""
    stored, revision = await store.load_config()
    merged = {**stored, **validate_document(changes)}
    return await store.save_config(merged, expected_revision=revision)


def apply_json_patch(document: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 6902 on a copy of `document`; a malformed patch is a ConfigError (400)."""
    import jsonpatch

    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise ConfigError("the body must be a JSON Patch array of operations")
    try:
        result = jsonpatch.apply_patch(copy.deepcopy(document), patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise ConfigError(f"invalid JSON Patch: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"invalid JSON Patch: {exc}") from None
    if not isinstance(result, dict):
        raise ConfigError("the patch must leave a JSON object")
    return result


async def patch_properties(store: Store, base_url: str, patch: Any) -> AppConfiguration:
    """Apply an RFC 6902 JSON Patch to the effective properties, validated as a whole:
    a bad operation, an unknown property or a bad value changes nothing. A removed
    property returns to its default."""
    from tokenrevoke.model.config import PROPERTIES

    stored, revision = await store.load_config()
    current = AppConfiguration.build(stored, revision, base_url)
    before = dict(current.values)
    after = apply_json_patch(before, patch)
    unknown = set(after) - set(PROPERTIES)
    if unknown:
        raise ConfigError(f"unknown property {sorted(unknown)[0]!r}")
    document = {k: v for k, v in stored.items() if k in after}
    document.update({k: v for k, v in after.items() if before.get(k) != v})
    await store.save_config(validate_document(document), expected_revision=revision)
    return await effective(store, base_url)
