"""Token Status List (draft-ietf-oauth-status-list): the list's encoding and its token.

A Status List is a byte array holding `bits` bits (1, 2, 4 or 8) per Referenced Token; the
status at index i sits in byte i * bits // 8, from the least significant bit up (section
4.1). It travels ZLIB-compressed (RFC 1950, the highest level, as the draft recommends) and
base64url-encoded without padding as `lst`, next to `bits`. The Status List Token is a JWT
(`typ: statuslist+jwt`) whose `sub` is the list's URI, the `uri` every token it covers names.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable
from typing import Any

# Status Types (draft section 7.1).
VALID = 0x00
INVALID = 0x01
SUSPENDED = 0x02
ALLOWED_BITS = (1, 2, 4, 8)

# The media types of the Status List endpoint's two answers (Janssen's names; the draft
# registers the JWT one).
STATUSLIST_JWT = "application/statuslist+jwt"
STATUSLIST_JSON = "application/statuslist+json"
JWT_TYP = "statuslist+jwt"
# A decoded list bigger than this is refused: a hostile `lst` could otherwise inflate to
# gigabytes (the draft's security considerations on decompression).
MAX_DECODED_BYTES = 64 * 1024 * 1024


class StatusListError(ValueError):
    """A list that is not a valid Status List (bad bits, base64url or ZLIB data)."""


class StatusList:
    """A mutable Status List of `size` entries of `bits` bits, all VALID at first."""

    __slots__ = ("bits", "data")

    def __init__(self, bits: int, size: int = 0, data: bytes | bytearray | None = None) -> None:
        if bits not in ALLOWED_BITS:
            raise StatusListError(f"bits must be one of 1, 2, 4, 8, got {bits!r}")
        self.bits = bits
        self.data = bytearray(data) if data is not None else bytearray(-(-size * bits // 8))

    @property
    def size(self) -> int:
        """How many entries the bytes hold."""
        return len(self.data) * 8 // self.bits

    def get(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is outside the list (size {self.size})")
        per_byte = 8 // self.bits
        shift = (index % per_byte) * self.bits
        return (self.data[index // per_byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, index: int, status: int) -> None:
        if not 0 <= status < 1 << self.bits:
            raise StatusListError(f"status {status} does not fit in {self.bits} bits")
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is outside the list (size {self.size})")
        per_byte = 8 // self.bits
        shift = (index % per_byte) * self.bits
        mask = ((1 << self.bits) - 1) << shift
        byte = index // per_byte
        self.data[byte] = (self.data[byte] & ~mask) | (status << shift)

    def set_all(self, indices: Iterable[int], status: int = INVALID) -> None:
        for index in indices:
            self.set(index, status)

    def encode(self, rle: bool = False) -> str:
        """`lst`: ZLIB, base64url without padding. By default DEFLATE's highest level, as
        the draft recommends (its test vectors are made so); `rle`: DEFLATE's run-length
        strategy, which finds the runs of zeros a sparse list is made of without searching
        for anything else: about a thousand times faster on a 1M-entry list with 1% set, a
        few per cent larger, smaller with 10% set (docs/benchmarks.md). Any ZLIB stream is
        a valid `lst`: decoders cannot tell."""
        if rle:
            packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
            compressed = packer.compress(bytes(self.data)) + packer.flush()
        else:
            compressed = zlib.compress(bytes(self.data), 9)
        return base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()

    def to_json(self, rle: bool = False) -> dict[str, Any]:
        """The JSON Status List (section 4.2): {"bits": ..., "lst": ...}."""
        return {"bits": self.bits, "lst": self.encode(rle)}

    @classmethod
    def decode(cls, bits: int, lst: str) -> StatusList:
        if not isinstance(lst, str) or not lst or "=" in lst:
            raise StatusListError("lst must be unpadded base64url text")
        try:
            compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
            inflater = zlib.decompressobj()
            data = inflater.decompress(compressed, MAX_DECODED_BYTES)
        except (ValueError, zlib.error) as exc:
            raise StatusListError(f"lst is not base64url ZLIB data: {exc}") from None
        if inflater.unconsumed_tail:
            raise StatusListError(f"lst decodes to more than {MAX_DECODED_BYTES} bytes")
        if not inflater.eof:
            raise StatusListError("lst holds a truncated ZLIB stream")
        return cls(bits, data=data)


def one_bit_indices(blob: bytes) -> Iterable[int]:
    """The indices whose bit is set in a 1-bit-per-index blob (least significant first):
    how the store keeps the bits of purged tombstones. Zero bytes are skipped whole."""
    for position, byte in enumerate(blob):
        if byte:
            for bit in range(8):
                if byte >> bit & 1:
                    yield position * 8 + bit


def status_claim(index: int, uri: str) -> dict[str, Any]:
    """The Referenced Token's `status` claim (section 6.1)."""
    return {"status_list": {"idx": index, "uri": uri}}


def token_claims(
    uri: str, issuer: str, now: int, lifetime: int, ttl: int, status_list: dict[str, Any]
) -> dict[str, Any]:
    """The Status List Token's claims (section 5.1): `sub` is the list's URI; `exp` its
    lifetime (Janssen's statusListResponseJwtLifetime); `ttl` how long a verifier may cache
    it. `iss` is ours, as in the access tokens it covers (which carry `iss`)."""
    return {
        "iss": issuer,
        "sub": uri,
        "iat": now,
        "exp": now + lifetime,
        "ttl": ttl,
        "status_list": status_list,
    }
