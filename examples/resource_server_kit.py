"""What the example resource servers share: the issuer's signing keys (tokenrevoke's JWKS,
fetched on first use and again when a token names a key id not in it: the keys rotated), a
quiet JSON handler that takes the bearer token of `GET /resource`, and serving it locally.

The examples import it from next to them (`python examples/<example>.py` puts this folder
first on the path); copy it along with an example. Only the standard library, PyJWT and
httpx are needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt


class IssuerKeys:
    """`keys(kid)` is the issuer's public key with that id; an unknown one raises what
    `unknown(kid)` makes, each example its own error."""

    def __init__(self, issuer: str, unknown: Callable[[str], Exception]) -> None:
        self.issuer = issuer
        self.unknown = unknown
        self._jwks: jwt.PyJWKSet | None = None

    def __call__(self, kid: str) -> Any:
        for refresh in (False, True):  # an unknown kid: the keys rotated, fetch them again
            if self._jwks is None or refresh:
                jwks = httpx.get(f"{self.issuer}/jans-auth/restv1/jwks", timeout=5).json()
                self._jwks = jwt.PyJWKSet.from_dict(jwks)
            for key in self._jwks.keys:
                if key.key_id == kid:
                    return key.key
        raise self.unknown(kid)


class JsonHandler(BaseHTTPRequestHandler):
    """A handler that answers JSON and logs nothing."""

    def resource_token(self) -> str | None:
        """The bearer token of a `GET /resource`; None once it has answered 404 (another
        path) or 401 (no `Authorization: Bearer` header)."""
        if self.path != "/resource":
            self.reply(404, {"error": "not_found"})
            return None
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            self.reply(401, {"error": "invalid_token"})
            return None
        return token

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """`body` as JSON (None: an empty body), with `headers` besides."""
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler], port: int) -> None:
    """Serve on 127.0.0.1:`port` until stopped; the line printed says it is listening."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(f"resource server on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()
