"""Resource types served by the provider."""

from __future__ import annotations

from terraform_provider_jans.resources.app_configuration import AppConfiguration
from terraform_provider_jans.resources.token_revocation import TokenRevocation
from terraform_provider_jans.resources.user_token_revocation import UserTokenRevocation

RESOURCES = (TokenRevocation, UserTokenRevocation, AppConfiguration)

__all__ = ["RESOURCES", "AppConfiguration", "TokenRevocation", "UserTokenRevocation"]
