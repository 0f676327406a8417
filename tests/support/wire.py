"""What the suites check on the wire, whatever the endpoint: token codes, no-store, the
shape of an OAuth error (RFC 6749 section 5.2)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

BASIC_CHALLENGE = 'Basic realm="jans-auth"'
BEARER_CHALLENGE = 'Bearer realm="jans-auth"'


def sha256_hex(raw: str) -> str:
    """A token's code (Janssen's tknCde), computed here rather than by the server's code."""
    return hashlib.sha256(raw.encode()).hexdigest()


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("pragma") == "no-cache"


def expected_challenge(response: httpx.Response) -> str | None:
    """RFC 6749 section 5.2: the scheme of the Authorization header used; Basic when no
    credentials were sent; none for credentials in the body (or a certificate)."""
    scheme = response.request.headers.get("authorization", "").partition(" ")[0].lower()
    if scheme in ("basic", "bearer"):
        return BASIC_CHALLENGE if scheme == "basic" else BEARER_CHALLENGE
    body = response.request.content.decode()
    in_body = any(f"{name}=" in body for name in ("client_secret", "client_assertion"))
    return None if in_body else BASIC_CHALLENGE


def assert_oauth_error(
    response: httpx.Response,
    status: int,
    error: str | None = None,
    *,
    reason: bool | None = None,
    challenge: bool = False,
) -> dict[str, Any]:
    """A shaped OAuth error: `status`, JSON, no-store, `error` (the code `error` when given)
    and a non-empty `error_description`; Janssen's `reason` exactly when `reason` is true,
    never when false, either way when None. `challenge`: a 401 names the scheme the
    request used (`expected_challenge`). The body is returned."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_no_store(response)
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    members = {"error", "error_description"}
    if reason is None:
        assert members <= set(body) <= {*members, "reason"}, body
    else:
        assert set(body) == ({*members, "reason"} if reason else members), body
    assert isinstance(body["error"], str) and body["error"]
    if error is not None:
        assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    if "reason" in body:
        assert isinstance(body["reason"], str) and body["reason"]
    if challenge and status == 401:
        assert response.headers.get("www-authenticate") == expected_challenge(response)
    return body
