"""The parsed request the protocol services work on (built by the web layer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class OAuthRequest:
    params: Mapping[str, str]
    authorization: str | None = None
    client_cert: bytes | None = None  # DER leaf, from our TLS or a trusted proxy
    endpoint: str = ""  # absolute URL of the endpoint called (a JWT assertion audience)
    headers: Mapping[str, str] | None = None
    remote_addr: str | None = None  # the TCP peer
    # The client's address: the peer, or what a trusted proxy forwarded (X-Forwarded-For).
    client_addr: str | None = None

    def param(self, name: str) -> str | None:
        return self.params.get(name)
