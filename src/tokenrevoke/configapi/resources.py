"""One create / replace / get / list / patch / delete for every config-API resource.

Each kind (clients.py, scopes.py, scripts.py) holds its own rules behind `Resource`; the
sequence of a write (find, convert, check, save) is written here once.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from tokenrevoke.configapi.config import apply_json_patch
from tokenrevoke.configapi.errors import bad_request, not_found

T = TypeVar("T")


class Resource(Protocol[T]):
    """One kind of resource, bound to the store and what its rules need."""

    @property
    def noun(self) -> str:
        """As in "no <noun> <inum>"."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The members a page may be sorted by and select."""

    @property
    def searched(self) -> tuple[str, ...]:
        """The members a page's `pattern` searches."""

    async def load(self, key: str) -> T:
        """The resource named `key` (its inum), or not_found."""

    async def items(self, kind: str | None) -> list[T]:
        """Every resource (of type `kind`, where the resource has types)."""

    def key(self, item: T) -> str: ...

    def fresh(self, data: Any) -> Any:
        """A POST body without what the server assigns."""

    async def from_json(self, data: Any, base: T | None) -> T:
        """Validated and converted; `base` is the stored resource a write replaces."""

    async def to_json(self, item: T) -> dict[str, Any]: ...

    async def patch_base(self, item: T) -> dict[str, Any]:
        """What a JSON Patch (RFC 6902) applies to."""

    async def save(self, item: T, existing: T | None, data: Any) -> dict[str, Any]:
        """Check the resource's rules, store it and answer its JSON; `data` is the
        document it came from."""

    async def delete(self, key: str) -> bool: ...


def body_inum(data: Any) -> str:
    """Janssen's PUT names the resource in the body, not the path."""
    inum = data.get("inum") if isinstance(data, dict) else None
    if not isinstance(inum, str) or not inum:
        raise bad_request("inum is required")
    return inum


async def get(resource: Resource[T], key: str) -> dict[str, Any]:
    return await resource.to_json(await resource.load(key))


async def listing(resource: Resource[T], kind: str | None = None) -> list[dict[str, Any]]:
    return [await resource.to_json(item) for item in await resource.items(kind)]


async def create(resource: Resource[T], data: Any) -> dict[str, Any]:
    """POST."""
    data = resource.fresh(data)
    return await resource.save(await resource.from_json(data, None), None, data)


async def replace(resource: Resource[T], data: Any) -> dict[str, Any]:
    """PUT: the body names the resource (`inum`) and replaces it whole."""
    existing = await resource.load(body_inum(data))
    return await resource.save(await resource.from_json(data, existing), existing, data)


async def patch(resource: Resource[T], existing: T, operations: Any) -> dict[str, Any]:
    """PATCH: RFC 6902 over `patch_base` of the stored resource; the inum stays."""
    document = apply_json_patch(await resource.patch_base(existing), operations)
    if document.get("inum") != resource.key(existing):
        raise bad_request("inum cannot be changed")
    return await resource.save(await resource.from_json(document, existing), existing, document)


async def delete(resource: Resource[T], key: str) -> None:
    if not await resource.delete(key):
        raise not_found(f"no {resource.noun} {key}")
