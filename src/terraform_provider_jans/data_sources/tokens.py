"""`jans_tokens`: `GET /jans-config-api/api/v1/token/search` (scope
`https://jans.io/oauth/config/token.readonly`).

Unlike Janssen's Go provider, `client_id` combines with `pattern`, `limit` and
`start_index` (it is sent as `fieldValuePair=clnId=...`), and `total_entries` is read from
the API's `totalEntriesCount`.
"""

from __future__ import annotations

from typing import Any

from terraform_provider_jans.base import Model, State
from terraform_provider_jans.client import JansClient
from terraform_provider_jans.schema import NUMBER, STRING, Attr, Field, ListType, ObjectType, Schema
from terraform_provider_jans.tfbridge import Context, Diagnostics

DEFAULT_LIMIT = 50
DEFAULT_START_INDEX = 0

# (attribute, TokenEntity JSON name, description)
TOKEN_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("token_code", "tokenCode", "Janssen's tknCde: the SHA-256 hex digest of the token."),
    ("client_id", "clientId", "The client the token was issued to."),
    ("token_type", "tokenType", "`access_token`, `refresh_token`, `id_token`, ..."),
    ("grant_type", "grantType", "The grant the token was issued by."),
    ("scope", "scope", "Space-separated scopes of the token."),
    ("creation_date", "creationDate", "When the token was issued (`2024-09-23T15:03:50`)."),
    ("expiration_date", "expirationDate", "When the token expires."),
    ("user_id", "userId", "The user the token was issued for, if any."),
    ("authorization_code", "authorizationCode", "The authorization code, if any."),
    ("dn", "dn", "The token entry's DN."),
)
TOKEN = ObjectType([Field(attr, STRING, description) for attr, _, description in TOKEN_FIELDS])


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def token_entry(entry: dict[str, Any]) -> dict[str, str]:
    # Missing members read as "", as with Janssen's Go provider.
    return {
        attr: "" if entry.get(name) is None else str(entry.get(name))
        for attr, name, _ in TOKEN_FIELDS
    }


class Tokens(Model):
    NAME = "tokens"
    SCHEMA = Schema(
        description=(
            "Searches the tokens stored on the Janssen server (never the tokens themselves: "
            "each entry names a token by its tknCde)."
        ),
        attributes=(
            Attr(
                "pattern",
                STRING,
                "Search pattern: a substring matched against the grant id, user, client, "
                "scope, token type and grant type; `|` separates alternatives.",
                optional=True,
            ),
            Attr(
                "client_id",
                STRING,
                "Only tokens of this client. Combines with `pattern`, `limit` and `start_index`.",
                optional=True,
            ),
            Attr(
                "limit",
                NUMBER,
                f"Maximum number of results (the server allows at most 200). Defaults to "
                f"`{DEFAULT_LIMIT}`.",
                optional=True,
                computed=True,
            ),
            Attr(
                "start_index",
                NUMBER,
                f"Index of the first result to return. Defaults to `{DEFAULT_START_INDEX}`.",
                optional=True,
                computed=True,
            ),
            Attr("start", NUMBER, "Index of the first returned result.", computed=True),
            Attr(
                "total_entries",
                NUMBER,
                "Number of tokens matching the search (`totalEntriesCount`).",
                computed=True,
            ),
            Attr("entries_count", NUMBER, "Number of tokens returned.", computed=True),
            Attr("tokens", ListType(TOKEN), "The tokens found.", computed=True),
            Attr("id", STRING, "Always `tokens`.", computed=True),
        ),
    )

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        for name, low in (("limit", 1), ("start_index", 0)):
            value = config.get(name)
            if isinstance(value, int | float) and (value < low or value != int(value)):
                diags.add_error(
                    f"{name} must be a whole number of at least {low}",
                    f"{name} is {value}.",
                    [name],
                )

    def read(self, ctx: Context, config: dict[str, Any]) -> State | None:
        limit = config.get("limit")
        start_index = config.get("start_index")
        limit = DEFAULT_LIMIT if limit is None else int(limit)
        start_index = DEFAULT_START_INDEX if start_index is None else int(start_index)

        def work(client: JansClient) -> dict[str, Any]:
            return client.search_tokens(
                pattern=str(config.get("pattern") or ""),
                client_id=str(config.get("client_id") or ""),
                limit=limit,
                start_index=start_index,
            )

        result = self.call(ctx, work)
        if result is None:
            return None
        entries = [e for e in result.get("entries") or [] if isinstance(e, dict)]
        return {
            "pattern": config.get("pattern"),
            "client_id": config.get("client_id"),
            "limit": limit,
            "start_index": start_index,
            "start": _count(result.get("start")),
            "total_entries": _count(result.get("totalEntriesCount")),
            "entries_count": _count(result.get("entriesCount", len(entries))),
            "tokens": [token_entry(e) for e in entries],
            "id": "tokens",
        }
