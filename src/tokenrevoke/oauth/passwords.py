"""Checking a user's password: the password grant and the sign-in page share it, and with
it the throttling of wrong passwords per username and address (oauth/throttle.py)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tokenrevoke.model import User
from tokenrevoke.oauth.throttle import AuthThrottle


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so the answer takes as
    long. Made on first use: argon2 needs 64 MiB to make it, which idle servers need not pay."""
    return PasswordHasher().hash("tokenrevoke-timing-equaliser")


class PasswordChecker:
    def __init__(
        self, users: Callable[[str], Awaitable[User | None]], throttle: AuthThrottle
    ) -> None:
        self._users = users
        self._throttle = throttle
        self._hasher = PasswordHasher()

    async def check(self, username: str, password: str, address: str | None) -> User | None:
        """The enabled user with this username and password, or None (a failure, counted).
        Raises 429 (OAuthError) while the username or the address is locked out, before
        the password is even checked."""
        self._throttle.check_address(address)
        self._throttle.check_user(username, address)
        user = await self._users(username)
        stored = user.password_hash if user and not user.disabled else _dummy_hash()
        try:
            # argon2 is deliberately slow: keep it off the event loop.
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            self._throttle.password_failed(username, address)
            return None
        if user is None or user.disabled:
            self._throttle.password_failed(username, address)
            return None
        self._throttle.password_succeeded(username, address)
        return user
