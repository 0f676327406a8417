"""Runs Janssen-compatible Revoke Token interception scripts on a revocation request.

Janssen contract: every enabled `revoke_token` script runs, ordered by `level` then
name, before the token is looked up. A script whose API version is <= 1 is skipped;
`revoke` returning a false value, raising, or not answering within the timeout stops the
revocation (the endpoint then answers 200 and revokes nothing). A script whose worker
died under it has failed the same way.

Scripts run in a separate worker process (`host.py`, `process.py`, `worker.py`; the
loading itself is `loader.py`), which holds neither the master key, the store nor the
server's environment. What the worker is given of a request: its form parameters and
headers, except the client's credentials (`client_secret`, `client_assertion`, the
credentials of `Authorization`), which the server has already checked; the `token`
parameter is given, as in Janssen, since deciding about it is what a script is for.
docs/security.md says what that means.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tokenrevoke.model.client import Client
from tokenrevoke.model.script import ScriptDefinition
from tokenrevoke.observability.metrics import SCRIPT_STOPS
from tokenrevoke.scripts.host import (
    REDACTED,
    LoadedScript,
    ScriptHost,
    log_prints,
    redact,
    script_info,
)
from tokenrevoke.scripts.janssen_shims import header_problem
from tokenrevoke.scripts.process import WorkerFailed
from tokenrevoke.scripts.protocol import ScriptError

__all__ = [
    "REDACTED",
    "RevokeScriptRequest",
    "RevokeTokenScripts",
    "ScriptError",
    "ScriptVerdict",
]

logger = logging.getLogger("tokenrevoke.scripts")

DEFAULT_TIMEOUT = 1.0
#: Client credentials: withheld from the worker, and never logged.
CREDENTIAL_PARAMS = ("client_secret", "client_assertion")
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization")
#: Request values that must never reach a log line.
SECRET_PARAMS = ("token", *CREDENTIAL_PARAMS)
_MAX_HEADERS = 100
_CALL_THREADS = 4  # the worker answers one call at a time; more threads would only wait
_MAX_DETAIL = 300


@dataclass(frozen=True, slots=True)
class RevokeScriptRequest:
    """What a script may see of the revocation request (before credentials are withheld)."""

    params: Mapping[str, str]  # form parameters (first value of each)
    headers: Mapping[str, str]  # lower-cased header names
    remote_addr: str | None
    client: Client | None


@dataclass(slots=True)
class ScriptVerdict:
    """Whether revocation may proceed, and if not which script stopped it and how."""

    allowed: bool
    script: str | None = None
    outcome: str = "allowed"  # "allowed" | "veto" | "error" | "timeout"
    detail: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)


def _request_secrets(request: RevokeScriptRequest) -> tuple[str, ...]:
    values = {request.params.get(name) or "" for name in SECRET_PARAMS}
    for name in CREDENTIAL_HEADERS:
        value = request.headers.get(name)
        if value:
            # The whole header and the credentials alone (a script may print either).
            values.update({value, value.partition(" ")[2]})
    # Longest first, so a secret containing another is replaced whole.
    return tuple(sorted((value for value in values if value), key=len, reverse=True))


def worker_request(request: RevokeScriptRequest) -> dict[str, Any]:
    """The request as the worker gets it: credentials replaced by REDACTED."""
    params = {
        name: REDACTED if name in CREDENTIAL_PARAMS else value
        for name, value in request.params.items()
    }
    headers = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS:
            scheme, _, credentials = value.partition(" ")
            value = f"{scheme} {REDACTED}" if credentials else REDACTED
        headers[lowered] = value
    client = request.client
    return {
        "params": params,
        "headers": headers,
        "remote_addr": request.remote_addr,
        "client": None
        if client is None
        else {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "scopes": list(client.scopes),
            "grant_types": list(client.grant_types),
            "disabled": client.disabled,
        },
    }


def _headers(interim: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The headers the worker reported, checked again here: the worker is not trusted."""
    headers = []
    for frame in interim[:_MAX_HEADERS]:
        item = frame.get("header")
        if (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
            and header_problem(item[0], item[1]) is None
        ):
            headers.append((item[0], item[1]))
    return headers


def _check_timeout(seconds: float) -> float:
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"script timeout must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


class RevokeTokenScripts:
    """The loaded Revoke Token scripts and the worker that runs them."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._timeout = _check_timeout(timeout)
        self._host = ScriptHost()
        # Our own threads wait on the worker's pipe: calls to a hung script must not use
        # up the loop's default executor (password hashing runs there). Every call ends
        # by its deadline, so these threads never outlive a timeout.
        self._threads = ThreadPoolExecutor(_CALL_THREADS, thread_name_prefix="revoke-script")

    @property
    def active(self) -> bool:
        """True when at least one script will run (API version > 1)."""
        return bool(self._host.runnable)

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id; None while no script is enabled."""
        return self._host.worker_pid

    def set_timeout(self, seconds: float) -> None:
        self._timeout = _check_timeout(seconds)

    def load(self, scripts: Sequence[ScriptDefinition]) -> list[tuple[str, str]]:
        """(Re)load the enabled revoke_token scripts; returns (name, reason) for those
        left out. Never raises for a script. Blocking: call it off the event loop."""
        return self._host.load(scripts, self._timeout)

    async def run(self, request: RevokeScriptRequest) -> ScriptVerdict:
        """Run each script's revoke(context) in order; the first refusal stops revocation."""
        scripts = self._host.runnable
        if not scripts:
            return ScriptVerdict(allowed=True)
        seconds = self._timeout
        secrets = _request_secrets(request)
        payload = worker_request(request)
        headers: list[tuple[str, str]] = []
        for script in scripts:
            message = {"op": "revoke", "script": script_info(script.definition), "request": payload}
            # The deadline is set before the call waits for a thread, so queued calls
            # time out on schedule too.
            deadline = time.monotonic() + seconds
            loop = asyncio.get_running_loop()
            try:
                reply = await loop.run_in_executor(
                    self._threads, self._host.call, script, message, deadline
                )
            except WorkerFailed as error:
                headers.extend(_headers(error.interim))
                outcome = "timeout" if error.timed_out else "error"
                detail = (
                    f"revoke() did not return within {seconds:g}s ({error})"
                    if error.timed_out
                    else str(error)
                )
                return self._stopped(script, outcome, detail, request, headers)
            log_prints(script.name, reply, secrets)
            headers.extend(_headers(reply["interim"]))
            if reply.get("ok") is not True:
                detail = str(reply.get("detail", "error"))[:_MAX_DETAIL]
                return self._stopped(script, "error", redact(detail, secrets), request, headers)
            if reply.get("allowed") is not True:
                returned = str(reply.get("returned", "?"))[:_MAX_DETAIL]
                detail = redact(f"revoke() returned a false value ({returned})", secrets)
                return self._stopped(script, "veto", detail, request, headers)
        return ScriptVerdict(allowed=True, response_headers=headers)

    @staticmethod
    def _stopped(
        script: LoadedScript,
        outcome: str,
        detail: str,
        request: RevokeScriptRequest,
        headers: list[tuple[str, str]],
    ) -> ScriptVerdict:
        client_id = request.client.client_id if request.client is not None else None
        SCRIPT_STOPS.labels(script.name, outcome).inc()
        logger.warning(
            "revoke_token script %r stopped revocation: outcome=%s client=%s detail=%s",
            script.name,
            outcome,
            client_id,
            detail,
        )
        return ScriptVerdict(
            allowed=False,
            script=script.name,
            outcome=outcome,
            detail=detail,
            response_headers=headers,
        )

    def close(self) -> None:
        """destroy() every script and stop the worker (killed if it hangs)."""
        self._host.close()
        threads = self._threads
        self._threads = ThreadPoolExecutor(_CALL_THREADS, thread_name_prefix="revoke-script")
        threads.shutdown(wait=False, cancel_futures=True)  # a thread ends by its deadline
