"""Interception scripts as stored (Janssen's CustomScript, the fields that matter here)."""

from __future__ import annotations

from dataclasses import dataclass, field

REVOKE_TOKEN = "revoke_token"


@dataclass(slots=True)
class ScriptDefinition:
    inum: str
    name: str
    source: str
    script_type: str = REVOKE_TOKEN
    enabled: bool = True
    level: int = 100
    description: str = ""
    configuration_attributes: dict[str, str] = field(default_factory=dict)
    revision: int = 0
