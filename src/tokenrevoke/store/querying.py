"""The token search and count statements both stores run, in each one's SQL dialect.

A statement's arguments go in `Params`, which names each one as its store does: `?`
(SQLite, by position) or `$n` (PostgreSQL, by number). What differs beyond that is in
`Dialect`: how a case-insensitive substring match and a comparison with text are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenrevoke.store.base import PATTERN_ATTRIBUTES, TOKEN_ATTRIBUTES, TokenQuery
from tokenrevoke.store.codec import like_pattern


@dataclass(frozen=True, slots=True)
class Dialect:
    numbered: bool  # $1, $2, ... rather than ?
    # `codec.like_pattern`'s patterns matched without regard to (ASCII) case: SQLite's LIKE is
    # case-insensitive already, PostgreSQL's ILIKE is; both need the backslash escape.
    contains: str  # of {column} and {value}
    as_text: str  # a column compared with a text argument, of {column}
    # An index seek on a row value's range, `(a, b) > (x, y)`; SQLite (3.40) seeks on its
    # first column alone, then filters every row that shares `x`.
    seeks_row_values: bool


SQLITE = Dialect(
    numbered=False, contains="{column} LIKE {value} ESCAPE '\\'", as_text="{column}",
    seeks_row_values=False,
)  # fmt: skip
POSTGRES = Dialect(
    numbered=True, contains="{column} ILIKE {value}", as_text="{column}::text",
    seeks_row_values=True,
)  # fmt: skip


@dataclass(slots=True)
class Params:
    """The arguments of one statement, in order; `add` gives the name of the one added
    (call it in the order of the statement's text: `?` are bound by position)."""

    dialect: Dialect
    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.dialect.numbered else "?"


def where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def search_filter(query: TokenQuery, params: Params) -> str:
    """The WHERE clause (or nothing) of a token search: any pattern in any pattern
    attribute, and every field's exact value."""
    clauses: list[str] = []
    dialect = params.dialect
    if query.patterns:
        ors = [
            dialect.contains.format(column=TOKEN_ATTRIBUTES[attr], value=params.add(like))
            for like in map(like_pattern, query.patterns)
            for attr in PATTERN_ATTRIBUTES
        ]
        clauses.append(f"({' OR '.join(ors)})")
    for attr, value in query.fields:
        clauses.append(
            f"{dialect.as_text.format(column=TOKEN_ATTRIBUTES[attr])} = {params.add(value)}"
        )
    return where(clauses)


def search_order(query: TokenQuery) -> str:
    """A search's ORDER BY: the chosen attribute, then the code (a total order, for pages)."""
    direction = "DESC" if query.descending else "ASC"
    return f" ORDER BY {TOKEN_ATTRIBUTES[query.sort_by]} {direction}, tkn_cde"


def page(query: TokenQuery, params: Params) -> str:
    return f" LIMIT {params.add(query.limit)} OFFSET {params.add(query.start)}"


def count_filter(client_id: str | None, live_at: int | None, params: Params) -> str:
    """The WHERE clause (or nothing) of a token count: of a client, live at a time."""
    clauses: list[str] = []
    if client_id is not None:
        clauses.append(f"cln_id = {params.add(client_id)}")
    if live_at is not None:
        clauses.append(f"revoked_at IS NULL AND exp > {params.add(live_at)}")
    return where(clauses)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement's text and its arguments, in order."""

    sql: str
    args: list[Any]


def token_search(
    query: TokenQuery, dialect: Dialect, select_tokens: str
) -> tuple[Statement, Statement]:
    """A token search's two statements: the count of every token it finds, then the page
    of them (`select_tokens`: the store's SELECT of whole tokens from the token table)."""
    params = Params(dialect)
    where = search_filter(query, params)
    count = Statement(f"SELECT count(*) FROM tokens{where}", list(params.values))
    rows = f"{select_tokens}{where}{search_order(query)}{page(query, params)}"
    return count, Statement(rows, params.values)


def token_count(client_id: str | None, live_at: int | None, dialect: Dialect) -> Statement:
    """A token count's statement (`count_filter`)."""
    params = Params(dialect)
    where = count_filter(client_id, live_at, params)
    return Statement(f"SELECT count(*) FROM tokens{where}", params.values)


# -- keyset walks ----------------------------------------------------------------------
# A revocation of a client, user or session runs in committed batches of REVOKE_BATCH
# tokens (store/base.py) that walk the scope's index in its key order: each batch from
# just after the previous batch's last key (`after`; none for the first) to its own last
# key (none for the last batch, which takes everything after `after`).
#
# Where the dialect cannot seek a two-key range (SQLite), the statements name the first
# key's value: many tokens may share an issue time (a bulk import, a burst, the
# benchmark's 100,000), and each batch would otherwise scan every one of them before its
# own (a 100,000-token revoke-all's batch SELECT took 47 ms against 0.4 ms).


def batch_end(
    column: str, keys: Sequence[str], value: Any, after: Sequence[Any], size: int, params: Params
) -> str:
    """The statement that finds the batch's last key: the `size`-th one after `after` in
    the scope `column = value` (no row: the batch is the last)."""
    scope = _keys_after(column, keys, value, after, params)
    return f"{scope} LIMIT 1 OFFSET {params.add(size - 1)}"


def batch_keys(
    column: str, keys: Sequence[str], value: Any, after: Sequence[Any], size: int, params: Params
) -> str:
    """The statement that finds the keys of the batch itself: the (up to) `size` first ones
    after `after` in the scope `column = value`, in key order."""
    return f"{_keys_after(column, keys, value, after, params)} LIMIT {params.add(size)}"


def _keys_after(
    column: str, keys: Sequence[str], value: Any, after: Sequence[Any], params: Params
) -> str:
    """The keys of the scope `column = value` after `after`, in key order."""
    names = ", ".join(keys)
    scope = f"SELECT {names} FROM tokens WHERE {column} = {params.add(value)}"
    if _seeks_apart(keys, after, params):  # what shares after's first key, then the rest
        first, rest = keys
        scope += (
            f" AND {first} = {params.add(after[0])} AND {rest} > {params.add(after[1])} "
            f"UNION ALL SELECT {names} FROM tokens WHERE {column} = {params.add(value)} "
            f"AND {first} > {params.add(after[0])}"
        )
    else:
        scope += _above(names, after, params)
    return f"{scope} ORDER BY {names}"


def batch_range(
    column: str, keys: Sequence[str], value: Any, after: Sequence[Any],
    last: Sequence[Any] | None, params: Params,
) -> str:  # fmt: skip
    """The condition that picks the batch's tokens: after `after`, up to `last`."""
    names = ", ".join(keys)
    if len(keys) == 2 and (after or last) and not params.dialect.seeks_row_values:
        return _first_key_ranges(column, keys, value, after, last, params)
    # In the order of the text: `?` are bound by position.
    scope = f"{column} = {params.add(value)}{_above(names, after, params)}"
    return f"{scope} AND ({names}) <= ({_marks(last, params)})" if last else scope


def _first_key_ranges(
    column: str, keys: Sequence[str], value: Any, after: Sequence[Any],
    last: Sequence[Any] | None, params: Params,
) -> str:  # fmt: skip
    """`batch_range` as ranges an index seeks, each on one value or range of the first key:
    the rest of after's, the ones between, the start of last's (SQLite ORs them)."""
    first, rest = keys
    add = params.add
    if after and last and after[0] == last[0]:
        return (
            f"{column} = {add(value)} AND {first} = {add(after[0])} "
            f"AND {rest} > {add(after[1])} AND {rest} <= {add(last[1])}"
        )
    pieces = []
    if after:
        pieces.append(
            f"{column} = {add(value)} AND {first} = {add(after[0])} AND {rest} > {add(after[1])}"
        )
    between = f"{column} = {add(value)}"
    between += f" AND {first} > {add(after[0])}" if after else ""
    between += f" AND {first} < {add(last[0])}" if last else ""
    pieces.append(between)
    if last:
        pieces.append(
            f"{column} = {add(value)} AND {first} = {add(last[0])} AND {rest} <= {add(last[1])}"
        )
    return "(" + " OR ".join(f"({piece})" for piece in pieces) + ")"


def _seeks_apart(keys: Sequence[str], after: Sequence[Any], params: Params) -> bool:
    return len(keys) == 2 and bool(after) and not params.dialect.seeks_row_values


def _above(names: str, after: Sequence[Any], params: Params) -> str:
    return f" AND ({names}) > ({_marks(after, params)})" if after else ""


def _marks(values: Sequence[Any], params: Params) -> str:
    return ", ".join(params.add(v) for v in values)
