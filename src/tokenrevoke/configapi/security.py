"""Who may call the config API: bearer access tokens from our own token endpoint, carrying
any one of the scopes an operation accepts (Janssen's per-operation scope lists)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from tokenrevoke.configapi.errors import ApiError
from tokenrevoke.model import Client
from tokenrevoke.model.scope_ids import AUTH_CONFIG, AUTH_SESSION, CONFIG
from tokenrevoke.oauth.bearer import bearer_owner
from tokenrevoke.store.base import Store

_CHALLENGE = 'Bearer realm="jans-config-api"'

TOKEN_READ = (
    CONFIG + "token.readonly",
    CONFIG + "token.write",
    CONFIG + "token.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
TOKEN_DELETE = (
    CONFIG + "token.delete",
    CONFIG + "openid/openid.delete",
    CONFIG + "token.admin",
    CONFIG + "delete-all",
)
CLIENT_READ = (
    CONFIG + "openid/clients.readonly",
    CONFIG + "openid/clients.write",
    CONFIG + "openid/openid.readonly",
    CONFIG + "openid/clients.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
# Janssen's GET /openid/clients/{inum} does not take openid/openid.readonly (the list does).
CLIENT_GET = tuple(s for s in CLIENT_READ if s != CONFIG + "openid/openid.readonly")
CLIENT_WRITE = (
    CONFIG + "openid/clients.write",
    CONFIG + "openid/openid.write",
    CONFIG + "openid/clients.admin",
    CONFIG + "write-all",
)
CLIENT_DELETE = (
    CONFIG + "openid/clients.delete",
    CONFIG + "openid/openid.delete",
    CONFIG + "openid/clients.admin",
    CONFIG + "delete-all",
)
SCOPE_READ = (
    CONFIG + "scopes.readonly",
    CONFIG + "scopes.write",
    CONFIG + "scopes.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
SCOPE_WRITE = (CONFIG + "scopes.write", CONFIG + "scopes.admin", CONFIG + "write-all")
SCOPE_DELETE = (CONFIG + "scopes.delete", CONFIG + "scopes.admin", CONFIG + "delete-all")
PROPERTIES_READ = (
    AUTH_CONFIG + "properties.readonly",
    AUTH_CONFIG + "properties.write",
    AUTH_CONFIG + "properties.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
PROPERTIES_WRITE = (
    AUTH_CONFIG + "properties.write",
    AUTH_CONFIG + "properties.admin",
    CONFIG + "write-all",
)
# Janssen's health, liveness and readiness operations have no security. (Its server-stat
# has none either; here it needs a token: it tells host figures.)
PUBLIC: tuple[str, ...] = ()
APP_VERSION_READ = (
    CONFIG + "app-version.readonly",
    CONFIG + "health.admin",
    CONFIG + "read-all",
)
PLUGIN_READ = (
    CONFIG + "plugin.readonly",
    CONFIG + "plugin.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
ATTRIBUTE_READ = (
    CONFIG + "attributes.readonly",
    CONFIG + "attributes.write",
    CONFIG + "attributes.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
JWKS_READ = (
    CONFIG + "jwks.readonly",
    CONFIG + "jwks.write",
    CONFIG + "jwks.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
ACRS_READ = (
    CONFIG + "acrs.readonly",
    CONFIG + "acrs.write",
    CONFIG + "acrs.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
LOGGING_READ = (
    CONFIG + "logging.readonly",
    CONFIG + "logging.write",
    CONFIG + "logging.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
LOGGING_WRITE = (CONFIG + "logging.write", CONFIG + "logging.admin", CONFIG + "write-all")
SCRIPT_READ = (
    CONFIG + "scripts.readonly",
    CONFIG + "scripts.write",
    CONFIG + "scripts.admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
SCRIPT_WRITE = (CONFIG + "scripts.write", CONFIG + "scripts.admin", CONFIG + "write-all")
SCRIPT_DELETE = (CONFIG + "scripts.delete", CONFIG + "scripts.admin", CONFIG + "delete-all")
SESSION_READ = (
    AUTH_SESSION + "readonly",
    AUTH_SESSION + "admin",
    CONFIG + "read-all",
    CONFIG + "write-all",
)
# Janssen's delete operations ask for session.delete together with revoke_session (one
# requirement); here any one scope of a list suffices, so revoke_session, an auth-server
# scope a relying party may hold, is left out: it alone does not open the config API.
SESSION_DELETE = (AUTH_SESSION + "delete", AUTH_SESSION + "admin", CONFIG + "delete-all")


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    scopes: frozenset[str]


ANONYMOUS = Caller("", frozenset())  # the caller of an operation without security


async def authorize(
    store: Store,
    authorization: str | None,
    accepted: Collection[str],
    clients: Callable[[str], Awaitable[Client | None]],
) -> Caller:
    """`clients` looks up the token's client (the runtime's cache): a token outlives
    nothing its client lost, so a disabled client's tokens stop working at once."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "a bearer access token is required", {"WWW-Authenticate": _CHALLENGE})
    owner = await bearer_owner(store, clients, token)
    if owner is None:
        raise ApiError(
            401,
            "the access token is not active",
            {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    client, record = owner.client, owner.token
    if client is None:
        raise ApiError(
            401,
            "the access token's client is disabled or no longer exists",
            {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    # The token acts with what its client still holds: a scope taken from the client since
    # the token was issued no longer counts.
    scopes = frozenset(record.scope.split()) & frozenset(client.scopes)
    if not scopes & set(accepted):
        needed = " ".join(accepted)
        raise ApiError(
            403,
            f"the access token needs one of these scopes: {needed}",
            {"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", scope="{needed}"'},
        )
    return Caller(record.client_id, scopes)


# Every scope list above is one unit of authority: the operations that accept it.
_AUTHORITIES = (
    TOKEN_READ, TOKEN_DELETE, CLIENT_READ, CLIENT_GET, CLIENT_WRITE, CLIENT_DELETE,
    SCOPE_READ, SCOPE_WRITE, SCOPE_DELETE, PROPERTIES_READ, PROPERTIES_WRITE,
    SCRIPT_READ, SCRIPT_WRITE, SCRIPT_DELETE, SESSION_READ, SESSION_DELETE,
)  # fmt: skip


def authority(scopes: Collection[str]) -> frozenset[int]:
    """What a set of scopes allows at the config API: the scope lists it satisfies."""
    held = set(scopes)
    return frozenset(i for i, accepted in enumerate(_AUTHORITIES) if held.intersection(accepted))


def _credentials(client: Client) -> tuple[object, ...]:
    return (
        client.auth_method,
        client.secret_hash,
        client.jwks,
        client.jwks_uri,
        client.tls_subject_dn,
    )


def check_client_write(caller: Caller, before: Client | None, after: Client) -> None:
    """No escalation through the config API (docs/security.md): a caller cannot give a
    client config-API authority its own token lacks, nor take over (change the secret or
    the way of authenticating of) a client that has such authority. `after` carries the
    new secret's hash when one was set."""
    own = authority(caller.scopes)
    had = authority(before.scopes) if before else frozenset()
    beyond = sorted(
        s for s in set(after.scopes) - set(before.scopes if before else ())
        if not authority([s]) <= own | had
    )  # fmt: skip
    if beyond:
        raise ApiError(
            403, f"the access token cannot give scopes beyond its own: {' '.join(beyond)}"
        )
    if before is not None and _credentials(before) != _credentials(after):
        held = sorted(s for s in set(before.scopes) if not authority([s]) <= own)
        if held:
            raise ApiError(
                403,
                "the access token cannot change the credentials of a client holding scopes "
                f"beyond its own: {' '.join(held)}",
            )
