"""tokenrevoke: a fast, Janssen wire-compatible OAuth 2.0 token revocation server."""

__version__ = "0.1.0"
