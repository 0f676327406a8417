"""Seeding tokenrevoke's PostgreSQL store fast: COPY straight into `tokens`.

The store API (`insert_tokens`, an INSERT per row in big transactions) manages about
37,000 tokens/s; seeding 10,000,000 tokens that way takes five minutes. Here the rows go
in with one binary COPY while the table has no index, and then the primary key and the
indexes are rebuilt exactly as the migrations defined them (read back from the catalog),
then `VACUUM (ANALYZE)`, so that every run starts from a table in the same state whatever
its size: statistics current, hint bits set, no autovacuum pending.

The rows are exactly what `tokenrevoke.store.codec.token_to_row` makes of the same
`TokenRecord` (checked by `check_row_format` before every seeding). Only the first access
token of a sampled grant is kept raw for the loads; every other token's code is 32 random
bytes in hex, indistinguishable from the `sha256_hex` of a raw token nobody will send.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

from bench.common import log
from bench.population import Plan, Sample, access_tokens_of, sample_of, tokens_in_grants
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.store.codec import TOKEN_COLUMNS, token_to_row

_DAY = 86_400
_ACCESS = TokenType.ACCESS_TOKEN.value
_REFRESH = TokenType.REFRESH_TOKEN.value
_GRANT_TYPE = "authorization_code"
_SCOPE = "openid profile"


def raw_token() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def _row(
    code: str, grant_id: str, client_id: str, user: str, kind: str, now: int, revoked: bool
) -> tuple[Any, ...]:
    lifetime = _DAY if kind == _ACCESS else 30 * _DAY
    return (
        code, grant_id, client_id, user, None, None, kind, _GRANT_TYPE, now, now + lifetime,
        _SCOPE, None, None, 1, None, None, now - 60 if revoked else None,
        f"client:{client_id}" if revoked else None, "revoke_endpoint" if revoked else None,
    )  # fmt: skip


def check_row_format() -> None:
    """`_row` builds what the store's own codec makes of the same record (live, revoked)."""
    now = int(time.time())
    for kind in (TokenType.ACCESS_TOKEN, TokenType.REFRESH_TOKEN):
        for revoked in (False, True):
            record = TokenRecord(
                code="c" * 64,
                grant_id="g" * 32,
                client_id="client",
                token_type=kind,
                grant_type=_GRANT_TYPE,
                created_at=now,
                expires_at=now + (_DAY if kind is TokenType.ACCESS_TOKEN else 30 * _DAY),
                scope=_SCOPE,
                user_id="user-1",
                revoked_at=now - 60 if revoked else None,
                revoked_by="client:client" if revoked else None,
                revoke_reason="revoke_endpoint" if revoked else None,
            )
            ours = _row("c" * 64, "g" * 32, "client", "user-1", kind.value, now, revoked)
            if ours != token_to_row(record):
                raise AssertionError(f"bench row {ours} != token_to_row {token_to_row(record)}")


def grant_rows(
    grant: int, client_id: str, now: int, revoked: bool, keep: list[str] | None
) -> Iterator[tuple[Any, ...]]:
    """The rows of grant `grant` (access tokens, then the refresh token); its first access
    token's raw value is appended to `keep` when given."""
    grant_id = secrets.token_hex(16)
    user = f"user-{grant % 10_000}"
    if keep is not None:
        raw = raw_token()
        keep.append(raw)
        code = sha256_hex(raw)
    else:
        code = os.urandom(32).hex()
    yield _row(code, grant_id, client_id, user, _ACCESS, now, revoked)
    if access_tokens_of(grant) == 2:
        yield _row(os.urandom(32).hex(), grant_id, client_id, user, _ACCESS, now, revoked)
    yield _row(os.urandom(32).hex(), grant_id, client_id, user, _REFRESH, now, revoked)


def population_rows(
    plan: Plan, load_id: str, bulk_id: str, bulk_tokens: int, now: int,
    kept: dict[str, list[str]],
) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Every row of the plan's population for `load_id`, then `bulk_tokens` (rounded up to
    whole grants) for `bulk_id`; sampled raw tokens go to `kept[sample name]`."""
    owner: list[Sample | None] = sample_of(plan)
    step = max(1, plan.total_grants // 5)
    for grant in range(plan.total_grants):
        sample = owner[grant]
        keep = kept[sample.name] if sample is not None else None
        yield from grant_rows(grant, load_id, now, grant >= plan.live_grants, keep)
        if grant and grant % step == 0:
            log(f"tokenrevoke-postgresql: copied {grant:,} of {plan.total_grants:,} grants")
    grant = 0
    while tokens_in_grants(grant) < bulk_tokens:
        yield from grant_rows(grant, bulk_id, now, False, None)
        grant += 1


def bulk_grants_for(bulk_tokens: int) -> int:
    grants = 0
    while tokens_in_grants(grants) < bulk_tokens:
        grants += 1
    return grants


async def copy_tokens(url: str, rows: Iterator[tuple[Any, ...]]) -> dict[str, float]:
    """COPY `rows` into the empty `tokens` table with its indexes set aside, rebuild them
    as they were, VACUUM (ANALYZE). Returns the seconds each phase took."""
    import asyncpg  # the PostgreSQL backend's own driver

    timings: dict[str, float] = {}
    conn = await asyncpg.connect(url, timeout=30)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tokens)"):
            raise RuntimeError("tokens is not empty: the COPY seeding needs a fresh database")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        async with conn.transaction():
            pkey = await conn.fetchrow(
                "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                "WHERE conrelid = 'tokens'::regclass AND contype = 'p'"
            )
            indexes = await conn.fetch(
                "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = 'tokens'::regclass AND NOT x.indisprimary "
                "ORDER BY i.relname"
            )
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["name"]}"')
            if pkey is not None:
                await conn.execute(f'ALTER TABLE tokens DROP CONSTRAINT "{pkey["conname"]}"')
            started = time.perf_counter()
            await conn.copy_records_to_table("tokens", records=rows, columns=TOKEN_COLUMNS)
            timings["copy_s"] = round(time.perf_counter() - started, 1)
            log(f"tokenrevoke-postgresql: COPY done in {timings['copy_s']:.1f}s; rebuilding "
                f"the primary key and {len(indexes)} indexes")  # fmt: skip
            started = time.perf_counter()
            if pkey is not None:
                await conn.execute(
                    f'ALTER TABLE tokens ADD CONSTRAINT "{pkey["conname"]}" {pkey["def"]}'
                )
            for index in indexes:
                await conn.execute(index["def"])
            timings["index_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) tokens")
        timings["vacuum_s"] = round(time.perf_counter() - started, 1)
        log(f"tokenrevoke-postgresql: indexes in {timings['index_s']:.1f}s, VACUUM (ANALYZE) "
            f"in {timings['vacuum_s']:.1f}s")  # fmt: skip
    finally:
        await conn.close()
    return timings
