"""Scope ids this server knows out of the box (the Scope record itself is model/scope.py)."""

from __future__ import annotations

CONFIG = "https://jans.io/oauth/config/"
AUTH_CONFIG = "https://jans.io/oauth/jans-auth-server/config/"
# The config API's session resource (Janssen's `session.readonly`, ...), not under /config/.
AUTH_SESSION = "https://jans.io/oauth/jans-auth-server/session."

REVOKE_ANY_TOKEN = "revoke_any_token"
INTROSPECTION = "introspection"
UMA_PROTECTION = "uma_protection"
GLOBAL_TOKEN_REVOCATION = "global_token_revocation"
# Janssen's /revoke_session: end every session of a user.
REVOKE_SESSION = "revoke_session"
# Subscribing to the revocation-event stream (docs/events.md).
REVOCATION_EVENTS = "revocation_events"
OPENID = "openid"

CONFIG_API_SCOPES: tuple[str, ...] = (
    CONFIG + "token.readonly",
    CONFIG + "token.write",
    CONFIG + "token.delete",
    CONFIG + "token.admin",
    CONFIG + "openid/openid.delete",
    CONFIG + "openid/clients.readonly",
    CONFIG + "openid/clients.write",
    CONFIG + "openid/clients.delete",
    CONFIG + "scopes.readonly",
    CONFIG + "scopes.write",
    CONFIG + "scopes.delete",
    CONFIG + "scripts.readonly",
    CONFIG + "scripts.write",
    CONFIG + "scripts.delete",
    AUTH_CONFIG + "properties.readonly",
    AUTH_CONFIG + "properties.write",
    CONFIG + "app-version.readonly",
    CONFIG + "plugin.readonly",
    CONFIG + "attributes.readonly",
    CONFIG + "jwks.readonly",
    CONFIG + "logging.readonly",
    CONFIG + "logging.write",
    AUTH_SESSION + "readonly",
    AUTH_SESSION + "delete",
    CONFIG + "read-all",
    CONFIG + "write-all",
    CONFIG + "delete-all",
)

BUILTIN_SCOPES: tuple[str, ...] = (
    OPENID,
    "profile",
    "email",
    "offline_access",
    INTROSPECTION,
    UMA_PROTECTION,
    REVOKE_ANY_TOKEN,
    GLOBAL_TOKEN_REVOCATION,
    REVOKE_SESSION,
    REVOCATION_EVENTS,
    *CONFIG_API_SCOPES,
)


def is_config_api_scope(scope: str) -> bool:
    """A scope of the config API (Janssen's are URLs under these prefixes)."""
    return scope.startswith((CONFIG, AUTH_CONFIG, AUTH_SESSION))
