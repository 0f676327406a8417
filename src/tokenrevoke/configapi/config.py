"""Reading and changing auth-server properties and feature flags."""

from __future__ import annotations

from typing import Any

from tokenrevoke.model import AppConfiguration, ConfigError, FeatureFlag
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


def parse_flag(name: str) -> FeatureFlag:
    try:
        return FeatureFlag(name.strip().upper())
    except ValueError:
        raise ConfigError(f"unknown feature flag {name!r}") from None


async def set_feature(store: Store, base_url: str, flag: FeatureFlag, enabled: bool) -> list[str]:
    """Enable or disable one feature. Disabling from "empty list = everything on" writes
    every other known flag explicitly, so only that one feature goes off."""
    cfg = await effective(store, base_url)
    current = (
        set(cfg.enabled_flags) if cfg.enabled_flags is not None else {f.value for f in FeatureFlag}
    )
    if enabled:
        current.add(flag.value)
    else:
        current.discard(flag.value)
    everything = {f.value for f in FeatureFlag}
    if not current:
        # An empty list would mean "all enabled"; UNKNOWN alone gates nothing real.
        current = {FeatureFlag.UNKNOWN.value}
    flags = [] if current == everything else sorted(current)
    await set_properties(store, {"featureFlags": flags})
    return flags
