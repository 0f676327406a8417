"""`jans_token_revocation`: a command-style resource that revokes a token on create, and
again whenever `triggers` change.

- create/update: `DELETE /jans-config-api/api/v1/token/revoke/{tknCde}` (scope
  `https://jans.io/oauth/config/token.delete`). The path carries the token's tknCde (its
  SHA-256), never the raw token, so the token does not end up in access logs. A 404 (no
  such live token: already revoked, expired or unknown) is success with a warning: the
  goal, a dead token, is reached, and re-revocation through `triggers` keeps working.
- read: no API call; the state is kept. delete: no API call.
- `id` is `token_revocation_<tknCde>`: meaningful to Janssen, useless to an attacker.
"""

from __future__ import annotations

from typing import Any

from terraform_provider_jans.base import CommandResource, State
from terraform_provider_jans.client import JansClient, token_code_hash
from terraform_provider_jans.schema import STRING, Attr, MapType, Schema
from terraform_provider_jans.tfbridge import Context, Diagnostics

SCOPE = "https://jans.io/oauth/config/token.delete"
ID_PREFIX = "token_revocation_"


def resource_id(token_code: str) -> str:
    return ID_PREFIX + token_code_hash(token_code)


class TokenRevocation(CommandResource):
    NAME = "token_revocation"
    SCHEMA = Schema(
        description=(
            "Resource for revoking OAuth tokens. This is a command-style resource that "
            "revokes tokens on create/update."
        ),
        attributes=(
            Attr(
                "token_code",
                STRING,
                "Token code to revoke: the token itself, or Janssen's tknCde of it (the "
                "lowercase hex SHA-256 of the token). Changing it revokes the new token "
                "(replacement).",
                required=True,
                sensitive=True,
                requires_replace=True,
            ),
            Attr(
                "triggers",
                MapType(STRING),
                "Map of values which should trigger a token revocation when changed",
                optional=True,
            ),
            Attr(
                "id",
                STRING,
                "The ID of this resource: `token_revocation_<tknCde>`, where tknCde is the "
                "SHA-256 hex digest of the token (never the token itself).",
                computed=True,
            ),
        ),
    )

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        code = config.get("token_code")
        if isinstance(code, str) and not code.strip():
            diags.add_error(
                "token_code is empty",
                "Set token_code to the token to revoke (or its tknCde).",
                ["token_code"],
            )

    def run(self, ctx: Context, planned: State) -> State | None:
        code = str(planned["token_code"])
        tkn_cde = token_code_hash(code)

        def revoke(client: JansClient) -> bool:
            return client.revoke_token(tkn_cde)

        revoked = self.call(ctx, revoke)
        if revoked is None:
            return None
        if not revoked:
            ctx.diagnostics.add_warning(
                "Token already revoked or unknown",
                f"The Janssen server has no live token with tknCde {tkn_cde} (HTTP 404): it "
                "was already revoked, has expired, or never existed. Nothing needed revoking; "
                "the revocation is recorded as done.",
                ["token_code"],
            )
        return {**planned, "id": resource_id(code)}
