"""PublishedEvents: positions without decoding, events decoded once when first read."""

from __future__ import annotations

import orjson

from tokenrevoke.model import PublishedEvents, RevocationEvent
from tokenrevoke.store import codec


def _body(revocation_id: str) -> bytes:
    revoked = [["hash-b", "grant-1", "client-1", None], ["hash-a", "grant-1", "client-1", "u"]]
    return orjson.dumps(
        [revocation_id, 1, 1_700_000_000, "revoke", "client-1", "", "grant", ["grant-1"], revoked]
    )


def test_positions_are_known_without_decoding_and_events_decode_once() -> None:
    decoded: list[int] = []

    def decode(body: bytes, position: int) -> RevocationEvent:
        decoded.append(position)
        return codec.event_from_row(body, position)

    published = PublishedEvents([(_body("r1"), 7), (_body("r2"), 8)], decode)
    assert len(published) == 2 and published.last_position == 8
    assert decoded == []  # what the SSE feed reads costs no decoding

    assert [e.id for e in published] == ["r1.1", "r2.1"]
    assert published[1].position == 8 and published[-1].token_hashes == ("hash-a", "hash-b")
    assert [e.position for e in published[:1]] == [7]
    assert decoded == [7, 8]  # once, however often they are read


def test_none_published() -> None:
    published = PublishedEvents((), codec.event_from_row)
    assert not published and published.last_position == 0 and list(published) == []
