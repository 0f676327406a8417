"""Reading and changing auth-server properties and feature flags."""

from __future__ import annotations

import copy
from typing import Any

from tokenrevoke.configapi.outbound import check_outbound_url
from tokenrevoke.crypto import SecretBox
from tokenrevoke.events.push import is_sealed, seal_authorization
from tokenrevoke.model import AppConfiguration, ConfigError
from tokenrevoke.model.config import ALL_PROPERTIES, validate_document
from tokenrevoke.observability.logs import janssen_level
from tokenrevoke.store.base import Store

PRIVATE_NETWORKS = "outboundAllowPrivateNetworks"


RECEIVERS = "revocationEventReceivers"
# What every GET shows for a receiver's `authorization` (write-only, like a client
# secret). Sent back unchanged in a PATCH, it keeps the stored value of the same URL.
MASK = "********"


async def effective(store: Store, base_url: str) -> AppConfiguration:
    stored, revision = await store.load_config()
    return AppConfiguration.build(stored, revision, base_url)


def shown(values: dict[str, Any]) -> dict[str, Any]:
    """The properties as the config API shows them: receivers' credentials masked."""
    out = dict(values)
    if RECEIVERS not in values:
        return out
    out[RECEIVERS] = [
        {**r, "authorization": MASK} if r.get("authorization") else dict(r)
        for r in values.get(RECEIVERS) or []
    ]
    return out


def _seal_receivers(
    box: SecretBox | None, receivers: list[dict[str, Any]], stored: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    kept = {r["url"]: r.get("authorization") for r in stored}
    sealed = []
    for receiver in receivers:
        value = receiver.get("authorization")
        if value == MASK:
            previous = kept.get(receiver["url"])
            if not previous:
                raise ConfigError(
                    f"{RECEIVERS}: {receiver['url']} has no stored authorization to keep; "
                    "send the value itself"
                )
            value = previous
        if value and not is_sealed(value):
            if box is None:
                raise ConfigError(f"{RECEIVERS}: an authorization needs the master key")
            value = seal_authorization(box, receiver["url"], value)
        sealed.append({**receiver, "authorization": value} if value else receiver)
    return sealed


async def _checked(
    box: SecretBox | None, document: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """A validated document with receivers' URLs checked and credentials sealed."""
    cleaned = validate_document(document)
    if RECEIVERS in cleaned and cleaned[RECEIVERS] != stored.get(RECEIVERS):
        allow = cleaned.get(PRIVATE_NETWORKS, stored.get(PRIVATE_NETWORKS, False))
        for receiver in cleaned[RECEIVERS]:
            await check_outbound_url(receiver["url"], f"{RECEIVERS} url", bool(allow))
        cleaned[RECEIVERS] = _seal_receivers(box, cleaned[RECEIVERS], stored.get(RECEIVERS, []))
    return cleaned


async def set_properties(
    store: Store, changes: dict[str, Any], box: SecretBox | None = None
) -> int:
    """Validate and apply property changes atomically (all or nothing). Receivers with
    an `authorization` need the box (it is stored sealed)."""
    stored, revision = await store.load_config()
    merged = {**stored, **(await _checked(box, changes, stored))}
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


def render(cfg: AppConfiguration, log_level: str) -> dict[str, Any]:
    """The properties as Janssen's GET answers them: unset ones (null) left out, receivers'
    credentials masked (`shown`), and `loggingLevel`, when not set, the level the server
    logs at (`log_level`, --log-level)."""
    out = shown({name: value for name, value in cfg.values.items() if value is not None})
    out.setdefault("loggingLevel", janssen_level(log_level))
    return out


async def patch_properties(
    store: Store, box: SecretBox, base_url: str, patch: Any
) -> AppConfiguration:
    """Apply an RFC 6902 JSON Patch to the effective properties, validated as a whole:
    a bad operation, an unknown property or a bad value changes nothing. A removed (or
    null) property returns to its default, or to unset. Every known property can be
    replaced, set or not (Janssen's document holds them all; its TUI sends `replace`)."""
    stored, revision = await store.load_config()
    current = AppConfiguration.build(stored, revision, base_url)
    before: dict[str, Any] = dict.fromkeys(ALL_PROPERTIES)
    before.update(shown(dict(current.values)))
    after = apply_json_patch(before, patch)
    unknown = set(after) - ALL_PROPERTIES
    if unknown:
        raise ConfigError(f"unknown property {sorted(unknown)[0]!r}")
    document = {k: v for k, v in stored.items() if k in after}
    document.update({k: v for k, v in after.items() if before.get(k) != v})
    document = {k: v for k, v in document.items() if v is not None}  # null: unset
    await store.save_config(await _checked(box, document, stored), expected_revision=revision)
    return await effective(store, base_url)


# Janssen's Logging resource: these members of the auth server's properties.
LOGGING_MEMBERS = (
    "loggingLevel",
    "loggingLayout",
    "httpLoggingEnabled",
    "disableJdkLogger",
    "enabledOAuthAuditLogging",
    "externalLoggerConfiguration",
    "httpLoggingExcludePaths",
)


def logging_view(properties: dict[str, Any]) -> dict[str, Any]:
    """Janssen's Logging object, from the rendered properties (`render`)."""
    return {k: properties[k] for k in LOGGING_MEMBERS if k in properties}


async def put_logging(store: Store, box: SecretBox, base_url: str, body: Any) -> AppConfiguration:
    """Janssen's PUT /logging: the members given (null ones left as they are) are set,
    validated like any property; an unknown member is refused."""
    if not isinstance(body, dict):
        raise ConfigError("the body must be a Logging object")
    unknown = sorted(set(body) - set(LOGGING_MEMBERS))
    if unknown:
        raise ConfigError(f"unknown Logging member {unknown[0]!r}")
    changes = {k: v for k, v in body.items() if v is not None}
    patch = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in changes.items()]
    return await patch_properties(store, box, base_url, patch)
