"""The Status List encoding (oauth/status_list.py) against the draft's own test vectors."""

from __future__ import annotations

import base64
import json
import random
import zlib
from pathlib import Path
from typing import Any

import pytest

from tokenrevoke.oauth.status_list import (
    INVALID,
    MAX_DECODED_BYTES,
    VALID,
    StatusList,
    StatusListError,
    one_bit_indices,
)
from tokenrevoke.store.codec import merge_one_bit

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "status_list_vectors.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['bits']}-bit")
def test_draft_vectors_encode_byte_exact(vector: dict[str, Any]) -> None:
    status_list = StatusList(vector["bits"], VECTORS["size"])
    for index, status in vector["statuses"]:
        status_list.set(index, status)
    assert status_list.encode() == vector["lst"]
    assert status_list.to_json() == {"bits": vector["bits"], "lst": vector["lst"]}


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['bits']}-bit")
def test_draft_vectors_decode_to_their_statuses(vector: dict[str, Any]) -> None:
    decoded = StatusList.decode(vector["bits"], vector["lst"])
    assert decoded.size == VECTORS["size"]
    listed = dict(map(tuple, vector["statuses"]))
    for index, status in listed.items():
        assert decoded.get(index) == status
    # Every other entry is VALID: the whole list, compared as bytes with a rebuilt one.
    rebuilt = StatusList(vector["bits"], VECTORS["size"])
    rebuilt.set_all(listed, VALID)
    for index, status in listed.items():
        rebuilt.set(index, status)
    assert decoded.data == rebuilt.data
    assert sum(1 for i in range(VECTORS["size"]) if decoded.get(i)) == sum(
        1 for s in listed.values() if s
    )


def test_the_drafts_16_entry_example() -> None:
    # Section 4.1: statuses 1,0,0,1,1,1,0,1,1,1,0,0,0,1,0,1 are the bytes 0xB9 0xA3.
    status_list = StatusList(1, 16)
    status_list.set_all([0, 3, 4, 5, 7, 8, 9, 13, 15], INVALID)
    assert bytes(status_list.data) == b"\xb9\xa3"
    assert StatusList.decode(1, status_list.encode()).data == status_list.data


@pytest.mark.parametrize("rle", [False, True], ids=["level9", "rle"])
@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_random_lists_round_trip(bits: int, rle: bool) -> None:
    rng = random.Random(bits)
    status_list = StatusList(bits, 10_000)
    expected = {rng.randrange(10_000): rng.randrange(1, 1 << bits) for _ in range(500)}
    for index, status in expected.items():
        status_list.set(index, status)
    decoded = StatusList.decode(bits, status_list.encode(rle))
    assert [decoded.get(i) for i in range(10_000)] == [expected.get(i, 0) for i in range(10_000)]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['bits']}-bit")
def test_the_fast_encoding_decodes_to_the_same_list(vector: dict[str, Any]) -> None:
    # What the server publishes (run-length DEFLATE) is another stream of the same bytes.
    status_list = StatusList.decode(vector["bits"], vector["lst"])
    fast = status_list.encode(rle=True)
    assert (
        fast != vector["lst"] and StatusList.decode(vector["bits"], fast).data == status_list.data
    )


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(StatusListError, match="bits"):
        StatusList(3, 8)
    with pytest.raises(StatusListError, match="fit"):
        StatusList(1, 8).set(0, 2)
    with pytest.raises(IndexError):
        StatusList(2, 4).get(4)
    with pytest.raises(StatusListError, match="base64url"):
        StatusList.decode(1, "eNo=")  # padded
    with pytest.raises(StatusListError, match="ZLIB"):
        StatusList.decode(1, "bm90LXpsaWI")  # "not-zlib"
    truncated = base64.urlsafe_b64encode(zlib.compress(bytes(1000))[:-3]).rstrip(b"=").decode()
    with pytest.raises(StatusListError, match="truncated"):
        StatusList.decode(1, truncated)


def test_a_decompression_bomb_is_refused() -> None:
    bomb = zlib.compress(bytes(MAX_DECODED_BYTES + 1), 9)
    lst = base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(StatusListError, match="more than"):
        StatusList.decode(1, lst)


def test_purged_bits_merge_and_read_back() -> None:
    blob = merge_one_bit(None, [0, 9, 17])
    blob = merge_one_bit(blob, [9, 1000])
    assert list(one_bit_indices(blob)) == [0, 9, 17, 1000]
