"""OAuth scopes (Janssen's Scope entity, the fields that matter here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ScopeType(StrEnum):
    OPENID = "openid"
    DYNAMIC = "dynamic"
    UMA = "uma"
    SPONTANEOUS = "spontaneous"
    OAUTH = "oauth"


@dataclass(slots=True)
class Scope:
    inum: str
    id: str
    display_name: str = ""
    description: str = ""
    scope_type: ScopeType = ScopeType.OAUTH
    default_scope: bool = False
    show_in_configuration_endpoint: bool = True
    creation_date: int = 0
    # The members of Janssen's scope JSON this server does not act on (iconUrl, claims,
    # umaAuthorizationPolicies, ...), kept as given and returned (configapi/scopes.py).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dn(self) -> str:
        return f"inum={self.inum},ou=scopes,o=jans"
