"""The Server-Sent Events stream of revocation events, for authenticated subscribers.

A subscriber presents a bearer access token (RFC 6750) carrying the scope
`revocation_events`. It receives every event published after it connected, or, with
`Last-Event-ID`, every retained event after that position first. The token and its
client are checked again at every heartbeat: once the token is revoked or expired, or its
client disabled or deleted, the stream ends. It also ends
when the server shuts down (the subscriber reconnects with Last-Event-ID).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.events.feed import EventFeed
from tokenrevoke.model import AppConfiguration, Client, RevocationEvent, TokenRecord, TokenType
from tokenrevoke.model.scope_ids import REVOCATION_EVENTS
from tokenrevoke.oauth.errors import OAuthError, invalid_request
from tokenrevoke.store import Store

PAGE = 200
_REALM = 'Bearer realm="jans-auth"'


def _bearer_error(status: int, error: str, description: str) -> OAuthError:
    challenge = f'{_REALM}, error="{error}"'
    if error == "insufficient_scope":
        challenge += f', scope="{REVOCATION_EVENTS}"'
    return OAuthError(status, error, description, headers={"WWW-Authenticate": challenge})


_POSITION = re.compile(r"[0-9]{1,18}")  # ASCII digits: str.isdigit() also takes "²"


def parse_last_event_id(value: str | None) -> int | None:
    """The position a subscriber resumes after (None: blank or absent, from now on)."""
    text = (value or "").strip()
    if not text:
        return None
    if not _POSITION.fullmatch(text):
        raise invalid_request("Last-Event-ID must be an event position (an integer)")
    return int(text)


class EventStream:
    def __init__(
        self,
        store: Store,
        feed: EventFeed,
        config: Callable[[], AppConfiguration],
        clients: Callable[[str], Awaitable[Client | None]],
    ) -> None:
        self._store = store
        self._feed = feed
        self._config = config
        self._clients = clients  # the runtime's cache: a disabled client is seen at once

    async def open(
        self, authorization: str | None, last_event_id: str | None
    ) -> AsyncIterator[RevocationEvent | None]:
        """Check the subscriber (OAuthError when refused) and return its stream: events,
        and None whenever a heartbeat is due."""
        code = await self._authorize(authorization)
        after = parse_last_event_id(last_event_id)
        if after is None:
            after = await self._store.latest_event_position()
        return self._follow(code, after)

    async def _authorize(self, authorization: str | None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise OAuthError(
                401, "invalid_token", "a bearer access token is required",
                headers={"WWW-Authenticate": _REALM},
            )  # fmt: skip
        code = sha256_hex(token)
        record = await self._store.get_token(code)
        if record is None or record.token_type is not TokenType.ACCESS_TOKEN:
            raise _bearer_error(401, "invalid_token", "the access token is not active")
        if not await self._live(record):
            raise _bearer_error(401, "invalid_token", "the access token is not active")
        if REVOCATION_EVENTS not in record.scope.split():
            raise _bearer_error(
                403, "insufficient_scope", f"the access token needs the scope {REVOCATION_EVENTS}"
            )
        return code

    async def _follow(self, code: str, after: int) -> AsyncIterator[RevocationEvent | None]:
        self._feed.subscribers += 1
        try:
            check_at = time.monotonic()
            while True:
                heartbeat = self._config().revocation_event_heartbeat_seconds
                if time.monotonic() >= check_at:  # also while events keep flowing
                    if not await self._still_allowed(code):
                        return
                    check_at = time.monotonic() + heartbeat
                events = await self._store.list_events(after, PAGE)
                for event in events:
                    yield event
                if events:
                    after = events[-1].position or after
                if len(events) == PAGE:
                    continue  # catching up
                if not await self._feed.wait_beyond(after, heartbeat):
                    if self._feed.closed:
                        return  # shutting down: the subscriber reconnects elsewhere
                    yield None
        finally:
            self._feed.subscribers -= 1

    async def _still_allowed(self, code: str) -> bool:
        record = await self._store.get_token(code)
        return record is not None and await self._live(record)

    async def _live(self, record: TokenRecord) -> bool:
        """The token is live and its client still exists and is enabled."""
        if not record.is_live(int(time.time())):
            return False
        client = await self._clients(record.client_id)
        return client is not None and not client.disabled
