"""`jans_app_configuration`: the auth server's properties that concern token revocation and
introspection, plus the feature flags. A singleton: there is one configuration per server.

- create adopts it: reads the current configuration (GET), then patches only the fields the
  configuration sets and the server does not already have.
- read: `GET /jans-config-api/api/v1/jans-auth-server/config`.
- update: a JSON Patch (`application/json-patch+json`) with one `replace` per field that
  changed in the plan, nothing else (`add` for a property the server's document omits).
- delete leaves the server as it is (no call): Terraform stops managing the settings.
- import with any id (`terraform import jans_app_configuration.this global`).
"""

from __future__ import annotations

from typing import Any

from terraform_provider_jans.base import ResourceModel, State
from terraform_provider_jans.client import SCOPE_PROPERTIES_READ, SCOPE_PROPERTIES_WRITE, JansClient
from terraform_provider_jans.schema import BOOL, NUMBER, STRING, Attr, ListType, Schema, Type
from terraform_provider_jans.tfbridge import Context, is_unknown

SINGLETON_ID = "global"

# (attribute, Janssen property, type, description)
FIELDS: tuple[tuple[str, str, Type, str], ...] = (
    (
        "feature_flags",
        "featureFlags",
        ListType(STRING),
        "Enabled features (`REVOKE_TOKEN`, `INTROSPECTION`, `GLOBAL_TOKEN_REVOCATION`, ...). "
        "An empty list enables every feature.",
    ),
    (
        "allow_all_value_for_revoke_endpoint",
        "allowAllValueForRevokeEndpoint",
        BOOL,
        "Allow revoking all of a client's tokens at once through the revocation endpoint.",
    ),
    (
        "allow_revoke_for_other_clients",
        "allowRevokeForOtherClients",
        BOOL,
        "Allow a client with the scope `revoke_any_token` to revoke other clients' tokens.",
    ),
    (
        "error_reason_enabled",
        "errorReasonEnabled",
        BOOL,
        "Add a `reason` member to error responses.",
    ),
    (
        "token_revocation_endpoint",
        "tokenRevocationEndpoint",
        STRING,
        "URL of the revocation endpoint, published in discovery as `revocation_endpoint`.",
    ),
    (
        "mtls_token_revocation_endpoint",
        "mtlsTokenRevocationEndpoint",
        STRING,
        "mTLS alias of the revocation endpoint (`mtls_endpoint_aliases`).",
    ),
    (
        "introspection_access_token_must_have_introspection_scope",
        "introspectionAccessTokenMustHaveIntrospectionScope",
        BOOL,
        "A bearer token calling the introspection endpoint must carry the scope `introspection`.",
    ),
    (
        "introspection_access_token_must_have_uma_protection_scope",
        "introspectionAccessTokenMustHaveUmaProtectionScope",
        BOOL,
        "A bearer token calling the introspection endpoint must carry the scope `uma_protection`.",
    ),
    (
        "introspection_restrict_basic_authn_to_own_tokens",
        "introspectionRestrictBasicAuthnToOwnTokens",
        BOOL,
        "Clients authenticating with HTTP Basic may introspect only their own tokens.",
    ),
    (
        "introspection_skip_authorization",
        "introspectionSkipAuthorization",
        BOOL,
        "Skip the authorization check at the introspection endpoint.",
    ),
    (
        "access_token_lifetime",
        "accessTokenLifetime",
        NUMBER,
        "Lifetime of access tokens, in seconds.",
    ),
    (
        "refresh_token_lifetime",
        "refreshTokenLifetime",
        NUMBER,
        "Lifetime of refresh tokens, in seconds.",
    ),
)
JANSSEN_NAME = {attr: prop for attr, prop, _, _ in FIELDS}


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def _same(attr: str, a: Any, b: Any) -> bool:
    if attr == "feature_flags" and isinstance(a, list) and isinstance(b, list):
        # Janssen matches flag names case-insensitively.
        return sorted(str(v).upper() for v in a) == sorted(str(v).upper() for v in b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(float(a) == float(b))
    return bool(a == b)


class AppConfiguration(ResourceModel):
    NAME = "app_configuration"
    SCHEMA = Schema(
        description=(
            "The Janssen auth server's configuration properties that govern token revocation "
            "and introspection, and its feature flags. There is one configuration per "
            "server: creating this resource adopts it, and destroying it leaves the server "
            "as it is. Only the attributes set in the configuration are managed."
        ),
        attributes=(
            *(
                Attr(attr, kind, description, optional=True, computed=True)
                for attr, _, kind, description in FIELDS
            ),
            Attr(
                "id",
                STRING,
                f"Always `{SINGLETON_ID}`: the server has one configuration.",
                computed=True,
            ),
        ),
    )

    @staticmethod
    def _state(document: dict[str, Any], wanted: State | None) -> State:
        """State from the server's document; where the planned/prior value means the same
        (flag names differ only in case or order), keep it, so plans stay quiet."""
        state: State = {"id": SINGLETON_ID}
        for attr, prop, _, _ in FIELDS:
            value = document.get(prop)
            previous = (wanted or {}).get(attr)
            if _known(previous) and _known(value) and _same(attr, previous, value):
                value = previous
            state[attr] = value
        return state

    @staticmethod
    def _patch(changes: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "op": "replace" if JANSSEN_NAME[attr] in document else "add",
                "path": "/" + JANSSEN_NAME[attr],
                "value": value,
            }
            for attr, value in changes.items()
        ]

    def _apply(self, ctx: Context, changes_from: State | None, planned: State) -> State | None:
        def work(client: JansClient) -> State:
            document = client.app_configuration(SCOPE_PROPERTIES_WRITE)
            if changes_from is None:  # create: what the configuration sets, if it differs
                changes = {
                    attr: planned[attr]
                    for attr, prop, _, _ in FIELDS
                    if _known(planned.get(attr))
                    and not _same(attr, planned[attr], document.get(prop))
                }
            else:  # update: exactly the fields Terraform planned to change
                changes = {
                    attr: planned[attr]
                    for attr, _, _, _ in FIELDS
                    if _known(planned.get(attr))
                    and not _same(attr, planned[attr], changes_from.get(attr))
                }
            if changes:
                document = client.patch_app_configuration(self._patch(changes, document))
            return self._state(document, planned)

        return self.call(ctx, work)

    def create(self, ctx: Context, planned: State) -> State | None:
        return self._apply(ctx, None, planned)

    def update(self, ctx: Context, current: State, planned: State) -> State | None:
        new = self._apply(ctx, current, planned)
        return new if new is not None else current

    def read(self, ctx: Context, current: State) -> State | None:
        def work(client: JansClient) -> State:
            return self._state(client.app_configuration(SCOPE_PROPERTIES_READ), current)

        new = self.call(ctx, work)
        return new if new is not None else current

    def delete(self, ctx: Context, current: State) -> None:
        ctx.diagnostics.add_warning(
            "jans_app_configuration left as it is",
            "Destroying jans_app_configuration only stops Terraform from managing these "
            "settings; the server keeps its current configuration.",
        )

    def import_(self, ctx: Context, id: str) -> State:
        return {"id": SINGLETON_ID, **{attr: None for attr, _, _, _ in FIELDS}}
