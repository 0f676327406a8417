"""PKCE (RFC 7636), S256 only: `plain` sends the verifier itself through the browser,
which is what PKCE exists to avoid (RFC 9700 section 2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

S256 = "S256"
METHODS = (S256,)
# RFC 7636 section 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# An S256 challenge is the unpadded base64url of a SHA-256 digest: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def challenge_problem(challenge: str | None, method: str | None) -> str | None:
    """What is wrong with the PKCE parameters of an authorization request (None: nothing;
    both absent is for the caller to judge)."""
    if challenge is None:
        return "code_challenge_method without code_challenge" if method is not None else None
    if method is None:
        # RFC 7636 section 4.3: absent means `plain`, which is refused.
        return "code_challenge_method is required and must be S256"
    if method not in METHODS:
        return f"code_challenge_method {method[:32]!r} is not supported (S256 only)"
    if not _S256_CHALLENGE.fullmatch(challenge):
        return "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
    return None


def verifier_matches(verifier: str, challenge: str) -> bool:
    if not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
