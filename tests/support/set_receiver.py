"""A real RFC 8935 push receiver for tests: an HTTP server on 127.0.0.1 that records
every SET POSTed to it, answers 202, and can be taken down and brought back on its port."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt

from tests.support.server import free_port

TOKENS_REVOKED = "https://schemas.openid.net/secevent/risc/event-type/tokens-revoked"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    token: str


class SetReceiver:
    def __init__(self, status: int = 202, error: str | None = None) -> None:
        """`error`: answer 400 with this RFC 8935 error code instead."""
        self.port = free_port()
        self.status = 400 if error else status
        self.reply = json.dumps({"err": error, "description": "test"}).encode() if error else b""
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def start(self) -> SetReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body.decode())
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, jwks_url: str, issuer: str, audience: str | None) -> dict[str, dict[str, Any]]:
        """Every SET received, verified against the server's JWKS, by `jti` (so duplicates
        from at-least-once delivery collapse)."""
        keys = jwt.PyJWKSet.from_dict(httpx.get(jwks_url, timeout=5).json())
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            received = list(self.received)
        for item in received:
            header = jwt.get_unverified_header(item.token)
            assert header["typ"] == "secevent+jwt"
            key = next(k for k in keys.keys if k.key_id == header["kid"])
            claims = jwt.decode(
                item.token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer,
                options={"verify_aud": audience is not None, "require": ["iat", "jti", "iss"]},
            )  # fmt: skip
            out[claims["jti"]] = claims
        return out

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver condition not met in {timeout}s")
            time.sleep(0.1)
