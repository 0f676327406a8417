"""The token table's statements on PostgreSQL that more than one module runs (the group
commit's own are in batcher.py)."""

from __future__ import annotations

from tokenrevoke.store.codec import TOKEN_COLUMN_LIST, TOKEN_COLUMNS

# One token's row (codec.token_to_row), for executemany.
INSERT_TOKENS = (
    f"INSERT INTO tokens ({TOKEN_COLUMN_LIST}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(TOKEN_COLUMNS) + 1))})"
)
# Whole tokens (codec.token_from_row), FROM the token table: a WHERE clause may follow.
SELECT_TOKENS = f"SELECT {TOKEN_COLUMN_LIST} FROM tokens"
