"""Runtime background work: purge of expired tokens, configuration refresh, key rotation."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

from tokenrevoke.configapi.config import set_properties
from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import AuditEvent, FeatureFlag, TokenRecord, TokenType
from tokenrevoke.runtime import Runtime
from tokenrevoke.settings import Settings
from tokenrevoke.store import RevocationTarget
from tokenrevoke.web.app import create_app, starlette_of


def record(expires_in: int, grant: str = "g") -> TokenRecord:
    now = int(time.time())
    return TokenRecord(
        code=sha256_hex(new_id()),
        grant_id=grant,
        client_id="c",
        token_type=TokenType.ACCESS_TOKEN,
        grant_type="client_credentials",
        created_at=now - 100,
        expires_at=now + expires_in,
    )


def test_purge_removes_expired_tokens_and_tombstones_in_batches(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        rt = await Runtime.open(Settings(data_dir=tmp_path))
        try:
            expired = [record(-10, f"e{i}") for i in range(25)]
            live = record(300, "live")
            tombstone = record(-5, "revoked")
            await rt.store.insert_tokens([*expired, live, tombstone])
            await rt.store.revoke(
                RevocationTarget.grants(["revoked"]),
                int(time.time()) - 20,
                AuditEvent("revoke", "t", "t"),
            )
            await set_properties(
                rt.store, {"cleanServiceInterval": 1, "cleanServiceBatchChunkSize": 10}
            )
            await rt.refresh()
            await rt._purge_if_due()
            return await rt.store.count_tokens(), await rt.store.count_tokens(
                live_at=int(time.time())
            )
        finally:
            await rt.close()

    assert asyncio.run(scenario()) == (1, 1)


def test_configuration_changes_reach_a_second_runtime_without_restart(tmp_path: Path) -> None:
    """Two runtimes over one store stand for two processes: a change made through one is
    in force in the other after its next refresh (every 0.5 s in a running server)."""

    async def scenario() -> tuple[bool, bool]:
        a = await Runtime.open(Settings(data_dir=tmp_path))
        b = await Runtime.open(Settings(data_dir=tmp_path))
        try:
            before = b.config().enabled(FeatureFlag.REVOKE_TOKEN)
            await set_properties(a.store, {"featureFlags": ["INTROSPECTION"]})
            await b.refresh()
            return before, b.config().enabled(FeatureFlag.REVOKE_TOKEN)
        finally:
            await a.close()
            await b.close()

    assert asyncio.run(scenario()) == (True, False)


def test_keys_are_created_once_and_shared(tmp_path: Path) -> None:
    async def scenario() -> tuple[str | None, str | None, int]:
        a = await Runtime.open(Settings(data_dir=tmp_path))
        b = await Runtime.open(Settings(data_dir=tmp_path))
        try:
            await a.rotate_keys()
            await b.refresh()
            await b.rotate_keys()  # not due: must not create a second key
            kid_a = a.keys.current.kid if a.keys.current else None
            kid_b = b.keys.current.kid if b.keys.current else None
            return kid_a, kid_b, len(b.keys.jwks()["keys"])
        finally:
            await a.close()
            await b.close()

    kid_a, kid_b, count = asyncio.run(scenario())
    assert kid_a is not None and kid_a == kid_b and count == 1


def test_the_app_freezes_what_exists_at_startup_so_full_collections_stay_short(
    tmp_path: Path,
) -> None:
    """Scanning the startup heap made every full collection ~30 ms, a stall of every
    request in flight (docs/benchmarks.md); frozen objects are not scanned."""

    async def scenario() -> int:
        app = create_app(Settings(data_dir=tmp_path, log_level="warning"))
        starlette = starlette_of(app)
        async with starlette.router.lifespan_context(starlette):
            return gc.get_freeze_count()

    gc.unfreeze()  # whatever an earlier test froze
    assert gc.get_freeze_count() == 0
    try:
        assert asyncio.run(scenario()) > 10_000  # the modules, the app, the runtime
    finally:
        gc.unfreeze()


def test_logging_level_property_sets_the_log_level_and_unsetting_restores_it(
    tmp_path: Path,
) -> None:
    import logging

    from tokenrevoke.configapi.config import patch_properties

    root = logging.getLogger()
    saved = root.level

    async def scenario() -> list[int]:
        rt = await Runtime.open(Settings(data_dir=tmp_path, log_level="warning"))
        seen = []
        try:
            for value in ("DEBUG", "ERROR", "OFF", None):
                await patch_properties(
                    rt.store, rt.box, rt.settings.base_url,
                    [{"op": "replace", "path": "/loggingLevel", "value": value}],
                )  # fmt: skip
                await rt.refresh()
                seen.append(root.level)
            return seen
        finally:
            await rt.close()

    try:
        root.setLevel(logging.WARNING)
        assert asyncio.run(scenario()) == [
            logging.DEBUG,
            logging.ERROR,
            logging.CRITICAL + 10,
            logging.WARNING,  # unset: --log-level again
        ]
    finally:
        root.setLevel(saved)
