"""Throttling of failed client authentication, per client id and per client address.

A client id (or address) that fails `limit` times within `window` seconds is locked out
for `window` seconds from the failure that reached the limit: its attempts get 429 with
`Retry-After`, and its credentials are not even checked. A limit of 0 turns that kind of
throttling off. Successful authentication costs a truthiness test of an empty dict
(nothing is locked out) or one dict lookup per key (something is).

State is per process and bounded: each table holds at most `max_keys` keys and, when full,
drops its oldest entry, so an attacker rotating client ids or addresses cannot grow
memory. Failures of unknown client ids are counted like those of real ones (otherwise a
429 would tell which ids exist). IPv6 addresses are counted per /64, the smallest block an
end site usually gets, so rotating addresses within it does not reset the count.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.observability.metrics import AUTH_FAILURES, AUTH_LOCKOUTS, AUTH_THROTTLED

log = logging.getLogger("tokenrevoke.auth.throttle")

MAX_KEYS = 50_000  # per table; an entry is ~200 bytes, so ~10 MB each at worst


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    per_client: int  # failures per window before a client id is locked out; 0: off
    per_address: int  # the same per client address; 0: off
    window: int  # seconds


def too_many_failures(retry_after: int, reason: str) -> OAuthError:
    return OAuthError(
        429,
        "temporarily_unavailable",
        "too many failed client authentication attempts; retry later",
        reason,
        {"Retry-After": str(retry_after)},
    )


class _FailureTable:
    """Failure windows and lockouts of one kind of key. Dicts keep insertion order, and a
    reset window is re-inserted, so the first entry is always the oldest."""

    __slots__ = ("_max_keys", "blocked", "windows")

    def __init__(self, max_keys: int) -> None:
        self._max_keys = max_keys
        self.windows: dict[str, list[float]] = {}  # key -> [window start, failures]
        self.blocked: dict[str, float] = {}  # key -> end of the lockout (monotonic)

    def retry_after(self, key: str, now: float) -> int:
        """Seconds left of the key's lockout; 0 when it is not locked out."""
        until = self.blocked.get(key)
        if until is None:
            return 0
        if until <= now:
            del self.blocked[key]
            return 0
        return max(1, math.ceil(until - now))

    def fail(self, key: str, limit: int, window: int, now: float) -> bool:
        """Count a failure; True when it reaches the limit (the key is now locked out)."""
        entry = self.windows.get(key)
        if entry is None or now - entry[0] >= window:
            if entry is not None:
                del self.windows[key]
            _make_room(self.windows, self._max_keys)
            entry = self.windows[key] = [now, 0.0]
        entry[1] += 1
        if entry[1] < limit:
            return False
        del self.windows[key]
        _make_room(self.blocked, self._max_keys)
        self.blocked[key] = now + window
        return True


def _make_room(table: dict[str, Any], max_keys: int) -> None:
    while len(table) >= max_keys:
        del table[next(iter(table))]


def address_key(address: str) -> str:
    """IPv4 as is; IPv6 by its /64 (an IPv4-mapped address as the IPv4 address)."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


class AuthThrottle:
    def __init__(
        self,
        limits: Callable[[], ThrottleLimits],
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._clients = _FailureTable(max_keys)
        self._addresses = _FailureTable(max_keys)

    def check_address(self, address: str | None) -> None:
        """Raise 429 while the address is locked out."""
        if self._addresses.blocked and address:
            self._refuse(self._addresses, address_key(address), "address")

    def check_client(self, client_id: str) -> None:
        """Raise 429 while the client id is locked out."""
        if self._clients.blocked:
            self._refuse(self._clients, client_id, "client")

    def _refuse(self, table: _FailureTable, key: str, scope: str) -> None:
        if key not in table.blocked:
            return
        limits = self._limits()
        if (limits.per_client if scope == "client" else limits.per_address) == 0:
            return  # turned off since the lockout began
        seconds = table.retry_after(key, self._clock())
        if seconds:
            AUTH_THROTTLED.labels(scope).inc()
            raise too_many_failures(seconds, f"this {scope} is locked out for {seconds} s")

    def failed(self, client_id: str | None, registered: bool, address: str | None) -> None:
        """Count one failed authentication. `registered`: the client id names a client
        (only then is it logged: an unknown "id" may be a secret pasted in the wrong field)."""
        AUTH_FAILURES.inc()
        limits = self._limits()
        now = self._clock()
        if client_id and limits.per_client:
            self._fail_client(client_id, registered, limits, now)
        if address and limits.per_address:
            key = address_key(address)
            if self._addresses.fail(key, limits.per_address, limits.window, now):
                AUTH_LOCKOUTS.labels("address").inc()
                log.warning(
                    "address %s locked out for %d s after %d failed client authentications",
                    key, limits.window, limits.per_address,
                )  # fmt: skip

    def _fail_client(
        self, client_id: str, registered: bool, limits: ThrottleLimits, now: float
    ) -> None:
        if self._clients.fail(client_id, limits.per_client, limits.window, now):
            AUTH_LOCKOUTS.labels("client").inc()
            shown = repr(client_id) if registered else f"sha256:{sha256_hex(client_id)[:12]}"
            log.warning(
                "client id %s locked out for %d s after %d failed authentications",
                shown, limits.window, limits.per_client,
            )  # fmt: skip
