"""`jans_user_token_revocation`: a command-style resource that revokes every token of a
user, at every client, and ends their sessions, on create and whenever `triggers` change.

- create/update: `POST /jans-config-api/api/v1/token/revoke/user/{userId}` (scope
  `https://jans.io/oauth/config/token.delete`), tokenrevoke's config-API side of global
  token revocation. A 404 (no user by that inum or uid, and no tokens of one) is an error:
  unlike a dead token, a user id that names nobody is a mistake in the configuration, and
  an incident responder must not be told the user was logged out.
- read: no API call; the state is kept. delete: no API call.
- `id` is `user_token_revocation_<inum>`: a user id, no secret.
"""

from __future__ import annotations

from typing import Any

from terraform_provider_jans.base import CommandResource, State
from terraform_provider_jans.client import JansClient, JansError, NotFound
from terraform_provider_jans.schema import STRING, Attr, MapType, Schema
from terraform_provider_jans.tfbridge import Context, Diagnostics

ID_PREFIX = "user_token_revocation_"


class UserTokenRevocation(CommandResource):
    NAME = "user_token_revocation"
    SCHEMA = Schema(
        description=(
            "Revokes every token of a user, issued to any client, and ends the user's "
            "sessions (global token revocation). A command-style resource: it revokes on "
            "create and again whenever triggers change."
        ),
        attributes=(
            Attr(
                "user_id",
                STRING,
                "The user: their inum (the `sub` of their tokens) or their uid (login "
                "name). Changing it revokes the new user's tokens (replacement).",
                required=True,
                requires_replace=True,
            ),
            Attr(
                "triggers",
                MapType(STRING),
                "Map of values which should trigger a revocation when changed",
                optional=True,
            ),
            Attr(
                "user_inum",
                STRING,
                "The inum of the user whose tokens were revoked.",
                computed=True,
            ),
            Attr(
                "id",
                STRING,
                "The ID of this resource: `user_token_revocation_<inum>`.",
                computed=True,
            ),
        ),
    )

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        user_id = config.get("user_id")
        if isinstance(user_id, str) and not user_id.strip():
            diags.add_error(
                "user_id is empty", "Set user_id to the user's inum or uid.", ["user_id"]
            )

    def run(self, ctx: Context, planned: State) -> State | None:
        user_id = str(planned["user_id"])

        def revoke(client: JansClient) -> dict[str, Any]:
            try:
                return client.revoke_user_tokens(user_id)
            except NotFound:
                raise JansError(
                    "User not found",
                    f"The Janssen server has no user with inum or uid {user_id!r}, and no "
                    "tokens of one (HTTP 404). Check user_id.",
                ) from None

        result = self.call(ctx, revoke)
        if result is None:
            return None
        inum = str(result.get("userId") or user_id)
        return {**planned, "user_inum": inum, "id": ID_PREFIX + inum}
