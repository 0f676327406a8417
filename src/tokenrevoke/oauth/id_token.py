"""The claims of an id_token (OpenID Connect Core section 2; `at_hash`: section 3.1.3.6;
`sid`: Front-Channel Logout section 3). Signed by the key ring (oauth/keys.py: RS256)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def at_hash(access_token: str) -> str:
    """The left half of the SHA-256 of the access token, base64url: SHA-256 because the
    id_token is signed with RS256."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    issued_at: int,
    lifetime: int,
    auth_time: int,
    jti: str,
    access_token: str | None = None,
    nonce: str | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer, "sub": subject, "aud": audience, "iat": issued_at,
        "exp": issued_at + lifetime, "auth_time": auth_time, "jti": jti,
    }  # fmt: skip
    if access_token is not None:
        claims["at_hash"] = at_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    if sid is not None:
        claims["sid"] = sid
    return claims
