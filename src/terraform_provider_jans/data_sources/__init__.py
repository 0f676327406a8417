"""Data source types served by the provider."""

from __future__ import annotations

from terraform_provider_jans.data_sources.feature_flags import FeatureFlags
from terraform_provider_jans.data_sources.tokens import Tokens

DATA_SOURCES = (Tokens, FeatureFlags)

__all__ = ["DATA_SOURCES", "FeatureFlags", "Tokens"]
