"""Throttling of failed authentication: client secrets and assertions, and user passwords.

Who is counted, so that guessing is slow and a stranger cannot lock anyone out:
- per (client id, address): `per_client` failures in `window` seconds lock that client
  out *from that address* only. A stranger who knows a client id locks out himself.
- per client id, across addresses: `ceiling_per_client` (generous) failures lock the client
  out from every address that never authenticated it successfully (since this process
  started): a guesser spread over many addresses is stopped, callers that are known to
  hold the secret go on working.
- per address: `per_address` failures of any kind (clients and passwords) lock the address.
- passwords the same way, per (username, address) and per username (`per_user`,
  `ceiling_per_user`).

A locked-out attempt gets 429 with `Retry-After`, and its credentials are not even
checked, until `window` seconds after the failure that reached the limit. A limit of 0
turns that kind of throttling off. Successful authentication costs a truthiness test of an
empty dict per table (nothing is locked out) and one dict write (the known-good pair).

State is per process and bounded: each table holds at most `max_keys` keys and, when full,
drops its oldest entry, so an attacker rotating client ids or addresses cannot grow
memory. Failures of unknown client ids (and usernames) are counted like those of real
ones (otherwise a 429 would tell which exist). IPv6 addresses are counted per /64, the
smallest block an end site usually gets, so rotating addresses within it does not reset
the count.
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
    per_client: int  # failures per window of a client id from one address; 0: off
    per_address: int  # failures per window from an address, of any kind; 0: off
    window: int  # seconds
    ceiling_per_client: int = 0  # of a client id from every address; 0: off
    per_user: int = 0  # wrong passwords per window for a username from one address
    ceiling_per_user: int = 0  # of a username from every address; 0: off


def too_many_failures(
    retry_after: int, reason: str, what: str = "client authentication"
) -> OAuthError:
    return OAuthError(
        429,
        "temporarily_unavailable",
        f"too many failed {what} attempts; retry later",
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


class _Guard:
    """The tables of one kind of secret holder (clients, or users): failures per (holder,
    address) and per holder, and the pairs known to have succeeded."""

    __slots__ = ("ceiling", "good", "max_keys", "pairs")

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.pairs = _FailureTable(max_keys)
        self.ceiling = _FailureTable(max_keys)
        self.good: dict[str, None] = {}  # pair keys that authenticated, oldest first

    def retry_after(self, holder: str, pair: str, now: float) -> int:
        if self.pairs.blocked:
            seconds = self.pairs.retry_after(pair, now)
            if seconds:
                return seconds
        if self.ceiling.blocked and holder in self.ceiling.blocked and pair not in self.good:
            return self.ceiling.retry_after(holder, now)
        return 0

    def succeeded(self, pair: str) -> None:
        if pair in self.good:
            del self.good[pair]  # re-inserted last: the most recently seen survive
        _make_room(self.good, self.max_keys)
        self.good[pair] = None


def _pair(holder: str, address: str | None) -> str:
    return f"{holder}\x00{address_key(address) if address else ''}"


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
        self._clients = _Guard(max_keys)
        self._users = _Guard(max_keys)
        self._addresses = _FailureTable(max_keys)

    def check_address(self, address: str | None) -> None:
        """Raise 429 while the address is locked out."""
        if self._addresses.blocked and address:
            key = address_key(address)
            if key in self._addresses.blocked and self._limits().per_address:
                self._refuse(self._addresses.retry_after(key, self._clock()), "address")

    def check_client(self, client_id: str, address: str | None = None) -> None:
        """Raise 429 while the client id is locked out for this address."""
        guard = self._clients
        if guard.pairs.blocked or guard.ceiling.blocked:
            limits = self._limits()
            if limits.per_client or limits.ceiling_per_client:
                seconds = guard.retry_after(client_id, _pair(client_id, address), self._clock())
                self._refuse(seconds, "client")

    def check_user(self, username: str, address: str | None) -> None:
        """Raise 429 while password attempts for the username are locked out for this
        address."""
        guard = self._users
        if guard.pairs.blocked or guard.ceiling.blocked:
            limits = self._limits()
            if limits.per_user or limits.ceiling_per_user:
                seconds = guard.retry_after(username, _pair(username, address), self._clock())
                self._refuse(seconds, "user", "password")

    @staticmethod
    def _refuse(seconds: int, scope: str, what: str = "client authentication") -> None:
        if seconds:
            AUTH_THROTTLED.labels(scope).inc()
            raise too_many_failures(seconds, f"this {scope} is locked out for {seconds} s", what)

    def succeeded(self, client_id: str, address: str | None) -> None:
        """A client proved its secret from this address: a known-good pair, which the
        per-client ceiling does not lock out. (Every authenticated request comes here, so
        `_Guard.succeeded` and `_pair` are inlined: ~1 us less per request.)"""
        if self._limits().ceiling_per_client:
            key = address if address and ":" not in address else address_key(address or "")
            pair = f"{client_id}\x00{key}"
            good = self._clients.good
            if pair in good:
                del good[pair]  # re-inserted last: the most recently seen survive
            elif len(good) >= self._clients.max_keys:
                _make_room(good, self._clients.max_keys)
            good[pair] = None

    def password_succeeded(self, username: str, address: str | None) -> None:
        if self._limits().ceiling_per_user:
            self._users.succeeded(_pair(username, address))

    def failed(self, client_id: str | None, registered: bool, address: str | None) -> None:
        """Count one failed authentication. `registered`: the client id names a client
        (only then is it logged: an unknown "id" may be a secret pasted in the wrong field)."""
        AUTH_FAILURES.inc()
        limits = self._limits()
        now = self._clock()
        if client_id:
            shown = repr(client_id) if registered else f"sha256:{sha256_hex(client_id)[:12]}"
            self._fail(
                self._clients, client_id, address, limits.per_client,
                limits.ceiling_per_client, limits.window, now, f"client id {shown}",
            )  # fmt: skip
        self._fail_address(address, limits, now)

    def password_failed(self, username: str, address: str | None) -> None:
        """Count one wrong password (or unknown username) at the password grant."""
        AUTH_FAILURES.inc()
        limits = self._limits()
        now = self._clock()
        shown = f"sha256:{sha256_hex(username)[:12]}"  # a username may be a password typed
        self._fail(
            self._users, username, address, limits.per_user, limits.ceiling_per_user,
            limits.window, now, f"password grant for user {shown}",
        )  # fmt: skip
        self._fail_address(address, limits, now)

    def _fail(
        self, guard: _Guard, holder: str, address: str | None, limit: int, ceiling: int,
        window: int, now: float, shown: str,
    ) -> None:  # fmt: skip
        if limit and guard.pairs.fail(_pair(holder, address), limit, window, now):
            AUTH_LOCKOUTS.labels("client" if guard is self._clients else "user").inc()
            log.warning(
                "%s locked out from %s for %d s after %d failures",
                shown, address_key(address) if address else "-", window, limit,
            )  # fmt: skip
        if ceiling and guard.ceiling.fail(holder, ceiling, window, now):
            AUTH_LOCKOUTS.labels("client" if guard is self._clients else "user").inc()
            log.warning(
                "%s locked out for %d s, except from addresses it authenticated from, "
                "after %d failures from any address",
                shown, window, ceiling,
            )  # fmt: skip

    def _fail_address(self, address: str | None, limits: ThrottleLimits, now: float) -> None:
        if address and limits.per_address:
            key = address_key(address)
            if self._addresses.fail(key, limits.per_address, limits.window, now):
                AUTH_LOCKOUTS.labels("address").inc()
                log.warning(
                    "address %s locked out for %d s after %d failed authentications",
                    key, limits.window, limits.per_address,
                )  # fmt: skip
