"""A resource server that caches token introspection and drops a cached token the moment
tokenrevoke says it was revoked (docs/events.md).

Caching introspection results is what makes a resource server fast, and what makes a
revoked token keep working until the cache entry expires. With revocation events the cache
can be long-lived: tokenrevoke pushes a signed Security Event Token (RFC 8417, RFC 8935) to
`POST /events` listing the SHA-256 hashes of the revoked tokens, and the entries go at once.

    python examples/resource_server_cache.py --issuer http://127.0.0.1:8080 \\
        --client-id RS_ID --client-secret RS_SECRET --port 9000 --audience my-rs

and on the server (the `authorization` value is what this receiver expects):

    tokenrevoke config set revocationEventReceivers \\
        '[{"url": "http://127.0.0.1:9000/events", "audience": "my-rs",
           "authorization": "Bearer RECEIVER_SECRET"}]'

`GET /resource` with `Authorization: Bearer <token>` answers 200 or 401, and says in the
`X-Cache` header whether the cache answered (hit) or tokenrevoke was asked (miss).
Only the standard library, PyJWT, httpx and `resource_server_kit.py` next to it are needed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import threading
import time
from typing import Any

import httpx
import jwt
from resource_server_kit import IssuerKeys, JsonHandler, serve

TOKENS_REVOKED = "https://schemas.openid.net/secevent/risc/event-type/tokens-revoked"


class IntrospectionCache:
    """sha256_hex(token) -> (introspection result, when it was fetched)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def get(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(code)
        if entry is None or time.monotonic() - entry[1] > self.ttl:
            return None
        return entry[0]

    def put(self, code: str, claims: dict[str, Any]) -> None:
        with self._lock:
            self._entries[code] = (claims, time.monotonic())

    def drop(self, codes: list[str]) -> int:
        with self._lock:
            return sum(self._entries.pop(code, None) is not None for code in codes)


class ResourceServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.issuer = args.issuer.rstrip("/")
        self.audience = args.audience
        self.receiver_auth = args.receiver_authorization
        self.client = (args.client_id, args.client_secret)
        self.cache = IntrospectionCache(args.cache_ttl)
        self.seen_jti: set[str] = set()  # delivery is at least once: deduplicate
        self.signing_key = IssuerKeys(
            self.issuer, lambda kid: jwt.InvalidKeyError(f"unknown kid {kid}")
        )

    def introspect(self, token: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.issuer}/jans-auth/restv1/introspection",
            data={"token": token}, auth=self.client, timeout=5,
        )  # fmt: skip
        response.raise_for_status()
        claims: dict[str, Any] = response.json()
        return claims

    def receive(self, token: str) -> list[str]:
        """Verify a pushed SET and drop the tokens it names; returns their hashes."""
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "secevent+jwt":
            raise jwt.InvalidTokenError("not a Security Event Token")
        claims = jwt.decode(
            token, self.signing_key(str(header.get("kid"))), algorithms=["RS256"],
            issuer=self.issuer, audience=self.audience,
            options={"verify_aud": self.audience is not None, "require": ["jti", "iat"]},
        )  # fmt: skip
        event = claims.get("events", {}).get(TOKENS_REVOKED)
        if event is None or claims["jti"] in self.seen_jti:
            return []
        self.seen_jti.add(claims["jti"])
        hashes = [h for h in event.get("token_hashes", []) if isinstance(h, str)]
        self.cache.drop(hashes)
        return hashes


def handler_for(rs: ResourceServer) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            token = self.resource_token()
            if token is None:
                return
            code = hashlib.sha256(token.encode()).hexdigest()  # tokenrevoke's tknCde
            claims, source = rs.cache.get(code), "hit"
            if claims is None:
                claims, source = rs.introspect(token), "miss"
                rs.cache.put(code, claims)
            status = 200 if claims.get("active") else 401
            return self.reply(status, {"active": bool(claims.get("active"))}, {"X-Cache": source})

        def do_POST(self) -> None:
            if self.path != "/events":
                return self.reply(404, {"error": "not_found"})
            presented = self.headers.get("Authorization", "")
            if rs.receiver_auth and not hmac.compare_digest(presented, rs.receiver_auth):
                return self.reply(400, {"err": "authentication_failed", "description": "who?"})
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                rs.receive(body.decode())
            except jwt.InvalidKeyError as exc:
                return self.reply(400, {"err": "invalid_key", "description": str(exc)})
            except (jwt.PyJWTError, UnicodeDecodeError, ValueError) as exc:
                return self.reply(400, {"err": "invalid_request", "description": str(exc)})
            return self.reply(202, None)  # RFC 8935: accepted

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True, help="a client allowed to introspect")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--audience", help="the `audience` configured for this receiver")
    parser.add_argument("--receiver-authorization", help="expected Authorization header")
    parser.add_argument("--cache-ttl", type=float, default=3600.0, help="seconds")
    args = parser.parse_args()
    serve(handler_for(ResourceServer(args)), args.port)


if __name__ == "__main__":
    main()
