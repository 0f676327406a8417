"""Storage: the only code that speaks SQL. `open_store` picks the backend from a URL."""

from tokenrevoke.store.base import RevocationTarget, Store, StoreUnavailable, UnstorableText
from tokenrevoke.store.factory import open_store

__all__ = ["RevocationTarget", "Store", "StoreUnavailable", "UnstorableText", "open_store"]
