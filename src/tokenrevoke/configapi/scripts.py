"""Custom script resources (Janssen's CustomScriptResource), for `revoke_token` scripts.

Other script types exist in Janssen; this server runs only `revoke_token` and refuses the
rest with 400 rather than storing scripts that would never run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from tokenrevoke.configapi.errors import ApiError, bad_request, not_found
from tokenrevoke.crypto import new_id
from tokenrevoke.model import ScriptDefinition
from tokenrevoke.model.config import INT32_MAX
from tokenrevoke.model.script import REVOKE_TOKEN
from tokenrevoke.scripts.host import validate_source
from tokenrevoke.scripts.protocol import ScriptError
from tokenrevoke.store.base import Store

SCRIPT_TYPES = [REVOKE_TOKEN]
_NAME = re.compile(r"^[a-zA-Z0-9_\-:/.]{2,60}$")


def script_json(script: ScriptDefinition) -> dict[str, Any]:
    return {
        "dn": f"inum={script.inum},ou=scripts,o=jans",
        "inum": script.inum,
        "name": script.name,
        "description": script.description,
        "script": script.source,
        "scriptType": script.script_type,
        "programmingLanguage": "python",
        "level": script.level,
        "revision": script.revision,
        "enabled": script.enabled,
        "modified": False,
        "internal": False,
        "locationType": "db",
        "moduleProperties": [{"value1": "location_type", "value2": "db"}],
        "configurationProperties": [
            {"value1": k, "value2": v, "hide": False}
            for k, v in script.configuration_attributes.items()
        ],
    }


def script_from_json(data: Any, base: ScriptDefinition | None) -> ScriptDefinition:
    """Validate and convert; the source must compile and define the interface."""
    if not isinstance(data, dict):
        raise bad_request("the script must be a JSON object")
    seed = base or ScriptDefinition(inum=new_id(), name="", source="")
    name = data.get("name", seed.name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_request("name must be 2 to 60 characters of letters, digits, _ - : / .")
    script_type = data.get("scriptType", seed.script_type)
    if script_type != REVOKE_TOKEN:
        raise bad_request(f"scriptType {script_type!r} is not supported; only {REVOKE_TOKEN}")
    if data.get("programmingLanguage", "python") != "python":
        raise bad_request("programmingLanguage must be python")
    source = data.get("script", seed.source)
    if not isinstance(source, str) or not source.strip():
        raise bad_request("script (the source) is required")
    try:
        validate_source(source)
    except ScriptError as exc:
        raise bad_request(f"script is not a valid revoke_token script: {exc}") from None
    level = data.get("level", seed.level)
    enabled = data.get("enabled", seed.enabled)
    description = data.get("description", seed.description) or ""
    if isinstance(level, bool) or not isinstance(level, int) or abs(level) > INT32_MAX:
        raise bad_request("level must be a 32-bit integer")
    if not isinstance(enabled, bool):
        raise bad_request("enabled must be true or false")
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    inum = data.get("inum") or seed.inum
    if not isinstance(inum, str):
        raise bad_request("inum must be a string")
    return dataclasses.replace(
        seed,
        inum=inum,
        name=name,
        source=source,
        script_type=script_type,
        enabled=enabled,
        level=level,
        description=description,
        configuration_attributes=_properties(data.get("configurationProperties"), seed),
    )


def _properties(value: Any, seed: ScriptDefinition) -> dict[str, str]:
    if value is None:
        return dict(seed.configuration_attributes)
    if not isinstance(value, list):
        raise bad_request("configurationProperties must be a list")
    out = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("value1"), str):
            raise bad_request("each configuration property needs a string value1")
        second = item.get("value2")
        if second is not None and not isinstance(second, str):
            raise bad_request("a configuration property's value2 must be a string")
        out[item["value1"]] = second or ""
    return out


@dataclasses.dataclass
class Scripts:
    """Custom scripts as a config-API resource (configapi/resources.py): names are unique."""

    store: Store
    noun = "script"
    fields = ("inum", "name", "scriptType", "level", "enabled")
    searched = ("name", "description", "scriptType")

    async def load(self, key: str, by: str = "inum") -> ScriptDefinition:
        for script in await self.store.list_scripts():
            if getattr(script, by) == key:
                return script
        raise not_found(f"no script with {by} {key}")

    async def items(self, kind: str | None) -> list[ScriptDefinition]:
        return [s for s in await self.store.list_scripts() if kind is None or s.script_type == kind]

    def key(self, item: ScriptDefinition) -> str:
        return item.inum

    def fresh(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if k not in ("inum", "revision")}

    async def from_json(self, data: Any, base: ScriptDefinition | None) -> ScriptDefinition:
        # Validation runs the script in a throwaway worker process: off the event loop.
        return await asyncio.to_thread(script_from_json, data, base)

    async def to_json(self, item: ScriptDefinition) -> dict[str, Any]:
        return script_json(item)

    async def patch_base(self, item: ScriptDefinition) -> dict[str, Any]:
        return script_json(item)

    async def save(
        self, item: ScriptDefinition, existing: ScriptDefinition | None, data: Any
    ) -> dict[str, Any]:
        if any(
            s.name == item.name and s.inum != item.inum for s in await self.store.list_scripts()
        ):
            raise ApiError(409, f"a script named {item.name!r} already exists")
        return script_json(await self.store.save_script(item))

    async def delete(self, key: str) -> bool:
        return await self.store.delete_script(key)
