"""What the config API tells about the server itself: health, version, host figures, the
store, plugins, attributes, signing keys (Janssen's Health, Plugins, Attributes and JWK
operations). Janssen's TUI calls these at start-up and in its Keys tab; each answer is
what is true here, in Janssen's shapes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenrevoke import __version__
from tokenrevoke.configapi.errors import bad_request
from tokenrevoke.configapi.paging import paged
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.store import Store
from tokenrevoke.store.factory import describe

_STARTED = time.monotonic()
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")


async def health(store: Store) -> list[dict[str, Any]]:
    """Janssen's HealthStatus list: the config API and its store. A store that does not
    answer raises StoreUnavailable (503), as our /health/ready does."""
    await store.revisions()
    return [
        {
            "status": "UP",
            "checks": [
                {"name": "jans-config-api liveness", "status": "UP"},
                {"name": "jans-config-api readiness", "status": "UP"},
            ],
        }
    ]


async def ready(store: Store) -> dict[str, str]:
    await store.revisions()
    return {"name": "jans-config-api readiness", "status": "UP"}


def live() -> dict[str, str]:
    return {"name": "jans-config-api liveness", "status": "UP"}


def app_version(artifact: str) -> dict[str, Any]:
    """Janssen answers per artifact; we are one program, so every artifact is us."""
    return {"artifact": artifact or "all", "name": "tokenrevoke", "version": __version__}


def server_stat(database_url: str, data_dir: Path) -> dict[str, Any]:
    """Janssen's StatsData for this host (its example: percentages as strings)."""
    facts: dict[str, str] = {"hostname": socket.gethostname()}
    with contextlib.suppress(OSError):
        disk = shutil.disk_usage(data_dir if data_dir.exists() else Path.cwd())
        facts["free_disk_space"] = f"{100 * disk.free / disk.total:.1f}%"
    with contextlib.suppress(OSError):
        facts["load_average"] = str(os.getloadavg()[0])
    memory = _meminfo()
    if "MemTotal" in memory and "MemAvailable" in memory:
        facts["memoryfree"] = f"{100 * memory['MemAvailable'] / memory['MemTotal']:.1f}%"
    if memory.get("SwapTotal"):
        facts["swapfree"] = f"{100 * memory.get('SwapFree', 0) / memory['SwapTotal']:.1f}%"
    seconds = int(time.monotonic() - _STARTED)
    facts["uptime"] = (
        f"{seconds // 86400} days, {seconds % 86400 // 3600}:{seconds % 3600 // 60:02d}"
    )
    return {
        "dbType": describe(database_url)["productName"].lower(),
        "lastUpdate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # RFC 3339
        "facterData": facts,
    }


def _meminfo() -> dict[str, int]:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            out[name] = int(fields[0])
    return out


def persistence(database_url: str) -> dict[str, str]:
    return describe(database_url)


def plugins() -> list[dict[str, str]]:
    """No config-API plugins (fido2, scim, user-management...) are deployed here."""
    return []


def attributes(params: dict[str, str]) -> dict[str, Any]:
    """We keep no attribute (user claim) schema: every search finds nothing, whatever it
    sorts or filters by; `limit` and `startIndex` must still be integers."""
    limit = params.get("limit") or "50"
    start = params.get("startIndex") or "0"
    for name, value in (("limit", limit), ("startIndex", start)):
        if not _INTEGER.fullmatch(value) or not -(2**31) <= int(value) < 2**31:
            raise bad_request(f"{name} must be a 32-bit integer, got {value!r}")
    return paged(0, int(start), [])


def default_acr() -> dict[str, str]:
    """Janssen's AuthenticationMethod. No login page here, so no authentication method
    and no default ACR: an empty object. (Janssen's CLI reads this operation only to
    check that its access token works.)"""
    return {}


def jwks(keys: KeyRing) -> dict[str, Any]:
    return {"keys": keys.described()}
