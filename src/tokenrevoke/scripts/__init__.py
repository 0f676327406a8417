"""Janssen-compatible Revoke Token interception scripts (docs/scripts.md).

Deliberately empty: the script worker process imports this package, and must load
nothing of the server (no store, no crypto). Import from the modules:
`revoke_token` (the runner), `host` (validation and the worker's life), `janssen_shims`.
"""
