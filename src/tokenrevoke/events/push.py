"""Push-based SET delivery over HTTP (RFC 8935): POST the SET, 202 means accepted.

A receiver that rejects a SET answers 400 with `{"err": ..., "description": ...}`. Only
`invalid_request` (this SET cannot be parsed or does not conform) is final: retrying the
same bytes cannot succeed. Every other answer (a key or issuer the receiver does not yet
trust, failed authentication, a 5xx, a timeout, no connection) may heal once the receiver
or its configuration is fixed, so it is retried with capped exponential backoff: a
revocation event is never dropped because a receiver was briefly unhappy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tokenrevoke.crypto import SecretBox
from tokenrevoke.events.set import MEDIA_TYPE

TIMEOUT_SECONDS = 5.0
_FIRST_DELAY = 1.0


_SEALED = "sealed:"  # a stored `authorization`: AES-GCM under the master key


def _context(url: str) -> str:
    # Bound to the URL: a sealed value moved to another receiver does not decrypt.
    return f"receiver-authorization:{url}"


def is_sealed(value: str) -> bool:
    return value.startswith(_SEALED)


def seal_authorization(box: SecretBox, url: str, value: str) -> str:
    """A receiver's `authorization` as stored (already sealed values are kept)."""
    if is_sealed(value):
        return value
    return _SEALED + box.encrypt(value, _context(url))


def reveal_authorization(box: SecretBox, receiver: dict[str, Any]) -> str | None:
    """A receiver's stored `authorization`, decrypted (a value stored before encryption
    at rest is returned as is)."""
    value = receiver.get("authorization")
    if not isinstance(value, str) or not value.startswith(_SEALED):
        return value if isinstance(value, str) else None
    return box.decrypt(value[len(_SEALED) :], _context(str(receiver["url"])))


@dataclass(frozen=True, slots=True)
class Receiver:
    url: str
    authorization: str | None = None
    audience: str | None = None

    @classmethod
    def from_config(cls, item: dict[str, Any]) -> Receiver:
        return cls(item["url"], item.get("authorization"), item.get("audience"))


@dataclass(frozen=True, slots=True)
class PushResult:
    delivered: bool
    final: bool = False  # a rejection that retrying cannot fix
    error: str | None = None
    retry_after: float | None = None  # the receiver's Retry-After, in seconds


async def push(http: httpx.AsyncClient, receiver: Receiver, token: str) -> PushResult:
    headers = {"Content-Type": MEDIA_TYPE, "Accept": "application/json"}
    if receiver.authorization:
        headers["Authorization"] = receiver.authorization
    try:
        response = await http.post(
            receiver.url, content=token, headers=headers, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        return PushResult(False, error=f"{type(exc).__name__}: {exc}"[:300])
    if response.status_code == 202 or 200 <= response.status_code < 300:
        return PushResult(True)
    if response.status_code == 400:
        err, description = _set_error(response.content)
        detail = f"400 {err or 'without an error code'}: {description or ''}".strip()
        return PushResult(False, final=err == "invalid_request", error=detail[:300])
    return PushResult(
        False,
        error=f"HTTP {response.status_code}",
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def backoff(attempts: int, cap: float, retry_after: float | None = None) -> float:
    """Seconds before the next try after `attempts` failed ones: 1, 2, 4, ... up to `cap`,
    with jitter so receivers coming back are not hit by every event at once."""
    delay = _FIRST_DELAY * 2 ** min(attempts - 1, 30) * random.uniform(0.8, 1.2)  # noqa: S311
    return float(min(cap, max(delay, retry_after or 0.0)))


def _set_error(body: bytes) -> tuple[str | None, str | None]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    err, description = data.get("err"), data.get("description")
    return (
        err if isinstance(err, str) else None,
        description if isinstance(description, str) else None,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: our own backoff applies
