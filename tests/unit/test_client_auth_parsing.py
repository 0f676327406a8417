"""Client credentials that cannot be decoded are refused, never an unexpected error."""

from __future__ import annotations

from tokenrevoke.oauth.client_auth import jwks_certificates


def test_certificates_that_are_not_base64_are_skipped() -> None:
    jwks = {"keys": [{"x5c": ["\u00e9t\u00e9"]}, {"x5c": ["AAEC"]}]}
    assert jwks_certificates(jwks) == [b"\x00\x01\x02"]
