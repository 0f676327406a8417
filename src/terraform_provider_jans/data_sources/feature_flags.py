"""`jans_feature_flags`: `GET /jans-config-api/api/v1/jans-auth-server/config/feature-flags`
(scope `https://jans.io/oauth/jans-auth-server/config/properties.readonly`)."""

from __future__ import annotations

from typing import Any

from terraform_provider_jans.base import Model, State
from terraform_provider_jans.client import JansClient
from terraform_provider_jans.schema import STRING, Attr, ListType, Schema
from terraform_provider_jans.tfbridge import Context


class FeatureFlags(Model):
    NAME = "feature_flags"
    SCHEMA = Schema(
        description=(
            "The feature flags configured on the Janssen auth server. An empty list means "
            "every feature is enabled."
        ),
        attributes=(
            Attr("flags", ListType(STRING), "The configured feature flags.", computed=True),
            Attr("id", STRING, "Always `feature_flags`.", computed=True),
        ),
    )

    def read(self, ctx: Context, config: dict[str, Any]) -> State | None:
        def work(client: JansClient) -> State:
            return {"flags": client.feature_flags(), "id": "feature_flags"}

        return self.call(ctx, work)
