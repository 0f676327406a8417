"""A resource server that checks JWT access tokens offline: the signature against
tokenrevoke's JWKS, and revocation against the Token Status List the token points at
(draft-ietf-oauth-status-list; docs/status-list.md). It never calls introspection.

Each list is fetched once and kept for its `ttl` (the claim in the signed list), so a token
revoked at tokenrevoke is refused here at the latest `ttl` seconds (plus tokenrevoke's one
second of rebuild) after the revocation's 200: no per-request call, whatever the traffic.

    python examples/resource_server_status_list.py --issuer http://127.0.0.1:8080 --port 9000

`GET /resource` with `Authorization: Bearer <JWT access token>` answers 200 or 401 (with the
reason), and says in `X-Status-List` whether the list came from the cache (hit) or was
fetched (miss). The client must issue JWT access tokens (`accessTokenAsJwt`).
Only the standard library, PyJWT, httpx and `resource_server_kit.py` next to it are needed.
"""

from __future__ import annotations

import argparse
import base64
import threading
import time
import zlib
from typing import Any

import httpx
import jwt
from resource_server_kit import IssuerKeys, JsonHandler, serve

VALID = 0


class Rejected(Exception):
    """The token is not acceptable; the message says why."""


class StatusLists:
    """uri -> (bits, decoded bytes, fetched at, ttl): each list kept for its `ttl`."""

    def __init__(self, issuer: str, keys: Any, max_ttl: float) -> None:
        self.issuer = issuer
        self.keys = keys
        self.max_ttl = max_ttl
        self._lists: dict[str, tuple[int, bytes, float, float]] = {}
        self._lock = threading.Lock()

    def status(self, uri: str, index: int) -> tuple[int, str]:
        with self._lock:
            cached = self._lists.get(uri)
        source = "hit"
        if cached is None or time.monotonic() - cached[2] >= cached[3]:
            cached, source = self._fetch(uri), "miss"
            with self._lock:
                self._lists[uri] = cached
        bits, data, _, _ = cached
        per_byte = 8 // bits
        if index // per_byte >= len(data):
            raise Rejected("the status index is outside the list")
        return (data[index // per_byte] >> (index % per_byte) * bits) & ((1 << bits) - 1), source

    def _fetch(self, uri: str) -> tuple[int, bytes, float, float]:
        if not uri.startswith(self.issuer + "/"):  # never fetch what a token names elsewhere
            raise Rejected("the status list is not the issuer's")
        response = httpx.get(uri, headers={"Accept": "application/statuslist+jwt"}, timeout=5)
        response.raise_for_status()
        header = jwt.get_unverified_header(response.text)
        if header.get("typ") != "statuslist+jwt":
            raise Rejected("not a Status List Token")
        claims = jwt.decode(
            response.text, self.keys(str(header.get("kid"))), algorithms=["RS256"],
            issuer=self.issuer, options={"require": ["sub", "iat", "status_list"]},
        )  # fmt: skip
        if claims["sub"] != uri:
            raise Rejected("the Status List Token is for another list")
        lst = claims["status_list"]["lst"]
        data = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
        ttl = min(float(claims.get("ttl", self.max_ttl)), self.max_ttl)
        return int(claims["status_list"]["bits"]), data, time.monotonic(), ttl


class ResourceServer:
    def __init__(self, issuer: str, max_ttl: float) -> None:
        self.issuer = issuer.rstrip("/")
        self.signing_key = IssuerKeys(
            self.issuer, lambda kid: Rejected(f"unknown signing key {kid}")
        )
        self.lists = StatusLists(self.issuer, self.signing_key, max_ttl)

    def check(self, token: str) -> str:
        """Accept the token (returns where the list came from) or raise Rejected."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self.signing_key(str(header.get("kid"))), algorithms=["RS256"],
                issuer=self.issuer, options={"verify_aud": False, "require": ["exp"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise Rejected(f"invalid token: {exc}") from None
        reference = claims.get("status", {}).get("status_list")
        if not isinstance(reference, dict):
            raise Rejected("the token has no status list entry")
        status, source = self.lists.status(str(reference.get("uri")), int(reference["idx"]))
        if status != VALID:
            raise Rejected("the token was revoked")
        return source


def handler_for(rs: ResourceServer) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            token = self.resource_token()
            if token is None:
                return
            try:
                source = rs.check(token)
            except Rejected as exc:
                return self.reply(401, {"error": "invalid_token", "error_description": str(exc)})
            except (httpx.HTTPError, ValueError, KeyError, zlib.error) as exc:
                return self.reply(503, {"error": "status_unavailable", "detail": str(exc)})
            return self.reply(200, {"ok": True}, {"X-Status-List": source})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--max-ttl", type=float, default=300.0, help="keep a list at most this long (seconds)"
    )
    args = parser.parse_args()
    serve(handler_for(ResourceServer(args.issuer, args.max_ttl)), args.port)


if __name__ == "__main__":
    main()
