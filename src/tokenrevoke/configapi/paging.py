"""Janssen's common list parameters: limit, pattern, startIndex, sortBy, sortOrder,
fieldValuePair. Validated here once for every resource."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenrevoke.configapi.errors import bad_request
from tokenrevoke.model.config import INT32_MAX

MAX_LIMIT = 200
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int = 50
    patterns: tuple[str, ...] = ()
    start: int = 0
    sort_by: str = "inum"
    descending: bool = False
    fields: tuple[tuple[str, str], ...] = ()


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise bad_request(f"{name} must be an integer, got {raw!r}")
    value = int(raw)
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise bad_request(f"{name} is out of range (a 32-bit integer), got {raw!r}")
    return value


def parse_paging(
    params: Mapping[str, str], *, sort_default: str, sortable: Sequence[str], fields: Sequence[str]
) -> Paging:
    limit = _int(params, "limit", 50)
    if limit > MAX_LIMIT:
        raise bad_request(f"limit must not exceed {MAX_LIMIT}")
    if limit < 1:
        raise bad_request("limit must be at least 1")
    start = _int(params, "startIndex", 0)
    if start < 0:
        raise bad_request("startIndex must not be negative")
    sort_by = params.get("sortBy") or sort_default
    if sort_by not in sortable:
        raise bad_request(f"sortBy must be one of {', '.join(sortable)}")
    order = (params.get("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise bad_request('sortOrder must be "ascending" or "descending"')
    pattern = params.get("pattern") or ""
    patterns = tuple(p for p in (piece.strip() for piece in pattern.split("|")) if p)
    pairs = []
    for item in (params.get("fieldValuePair") or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise bad_request(
                f"fieldValuePair: {item!r} is not name=value with a name in {', '.join(fields)}"
            )
        pairs.append((name, value.strip()))
    return Paging(limit, patterns, start, sort_by, order == "descending", tuple(pairs))


def paged(total: int, start: int, entries: list[Any]) -> dict[str, Any]:
    return {
        "start": start,
        "totalEntriesCount": total,
        "entriesCount": len(entries),
        "entries": entries,
    }


def page_in_memory(
    items: list[dict[str, Any]], paging: Paging, searchable: Sequence[str]
) -> dict[str, Any]:
    """Filter, sort and slice small collections (clients, scopes, scripts) the same way."""

    def matches(item: dict[str, Any]) -> bool:
        if paging.patterns:
            text = " ".join(str(item.get(k) or "") for k in searchable).lower()
            if not any(p.lower() in text for p in paging.patterns):
                return False
        return all(str(item.get(k)) == v for k, v in paging.fields)

    found = [i for i in items if matches(i)]
    found.sort(key=lambda i: str(i.get(paging.sort_by) or ""), reverse=paging.descending)
    return paged(len(found), paging.start, found[paging.start : paging.start + paging.limit])
