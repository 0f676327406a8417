"""URLs the server will fetch or push to (a client's `jwksUri`, revocation-event
receivers), checked when they are saved: http(s) only, and no loopback, link-local,
private or otherwise non-public address, literal or resolved, unless the property
`outboundAllowPrivateNetworks` allows them (tests and labs). Otherwise anyone allowed to
save such a URL could make the server reach what only it can reach (SSRF): the metadata
service, the database, Redis. See docs/security.md for what this does not cover."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from tokenrevoke.model import ConfigError

_RESOLVE_SECONDS = 2.0


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_outbound_url(url: str, what: str, allow_private: bool) -> None:
    """Raise ConfigError (400) for a URL the server must not be made to reach."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} must be an absolute http(s) URL")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ConfigError(f"{what} has an invalid port") from None
    if allow_private:
        return
    host = parts.hostname
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        addresses = [host]
    except ValueError:
        addresses = await _resolve(host)
    if not addresses or not all(_public(a) for a in addresses):
        raise ConfigError(
            f"{what} must reach a public address: {host} is loopback, link-local, private "
            "or does not resolve (the property outboundAllowPrivateNetworks allows such "
            "addresses)"
        )


async def _resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), _RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]
