"""Janssen-compatible Revoke Token interception scripts."""

from tokenrevoke.scripts.janssen_shims import (
    ConfigurationAttributes,
    RevokeTokenType,
    SimpleCustomProperty,
)
from tokenrevoke.scripts.revoke_token import (
    RevokeScriptRequest,
    RevokeTokenScripts,
    ScriptError,
    ScriptVerdict,
    validate_revoke_script,
)

__all__ = [
    "ConfigurationAttributes",
    "RevokeScriptRequest",
    "RevokeTokenScripts",
    "RevokeTokenType",
    "ScriptError",
    "ScriptVerdict",
    "SimpleCustomProperty",
    "validate_revoke_script",
]
