"""Benchmarks: tokenrevoke side by side with oidc-provider and a raw ASGI ceiling.

Run `python -m bench --help`; see docs/benchmarks.md.
"""
