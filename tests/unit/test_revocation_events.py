"""Protocol rules of revocation events: the SET's claims (RFC 8417, RISC) and the push
retry policy (RFC 8935)."""

from __future__ import annotations

import dataclasses

import pytest

from tokenrevoke.events.push import _retry_after, _set_error, backoff
from tokenrevoke.events.set import TOKENS_REVOKED, set_claims
from tokenrevoke.events.stream import parse_last_event_id
from tokenrevoke.model import RevocationEvent
from tokenrevoke.oauth.errors import OAuthError

ISSUER = "https://as.example"
EVENT = RevocationEvent(
    id="r1.2", revocation_id="r1", batch=2, revoked_at=1700000000, action="revoke_all",
    actor="client:c1", reason="revoke_endpoint", target="client", target_values=("c1",),
    token_hashes=("aa", "bb"), grant_ids=("g1", "g2"), client_ids=("c1",),
    user_ids=("u1",), position=7,
)  # fmt: skip


def test_the_set_carries_the_risc_event_with_exactly_the_revoked_hashes() -> None:
    claims = set_claims(EVENT, ISSUER, "rs", now=1700000005)
    assert (claims["iss"], claims["aud"], claims["iat"]) == (ISSUER, "rs", 1700000005)
    assert (claims["jti"], claims["txn"], claims["toe"]) == ("r1.2", "r1", 1700000000)
    assert list(claims["events"]) == [TOKENS_REVOKED]  # one logical event per SET
    event = claims["events"][TOKENS_REVOKED]
    assert event["subject"] == {"subject_type": "iss-sub", "iss": ISSUER, "sub": "u1"}
    assert claims["sub_id"] == {"format": "iss_sub", "iss": ISSUER, "sub": "u1"}
    assert event["token_hashes"] == ["aa", "bb"] and event["grant_ids"] == ["g1", "g2"]
    assert event["reason"] == "revoke_endpoint"
    assert event["revocation"]["target"] == {"type": "client", "values": ["c1"]}
    assert "exp" not in claims  # RFC 8417 section 2.2: a SET does not expire
    assert "aud" not in set_claims(EVENT, ISSUER, None)


def test_without_a_single_user_the_subject_is_the_client() -> None:
    machine = dataclasses.replace(EVENT, user_ids=())
    assert set_claims(machine, ISSUER, None)["events"][TOKENS_REVOKED]["subject"] == {
        "subject_type": "opaque", "id": "c1"
    }  # fmt: skip
    with_machine_tokens = dataclasses.replace(EVENT, userless_tokens=True)  # u1's and c1's own
    assert set_claims(with_machine_tokens, ISSUER, None)["sub_id"] == {
        "format": "opaque",
        "id": "c1",
    }
    mixed = dataclasses.replace(EVENT, user_ids=("u1", "u2"), client_ids=("c1", "c2"))
    assert set_claims(mixed, ISSUER, None)["sub_id"] == {"format": "opaque", "id": "r1"}


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    for attempts, nominal in ((1, 1), (2, 2), (3, 4), (6, 32)):
        assert 0.8 * nominal <= backoff(attempts, 300) <= 1.2 * nominal
    assert backoff(40, 300) == 300
    assert backoff(1, 300, retry_after=120) == 120
    assert backoff(1, 60, retry_after=120) == 60
    assert (_retry_after("30"), _retry_after("Wed, 21 Oct 2015 07:28:00 GMT")) == (30.0, None)


def test_set_error_bodies_are_read_defensively() -> None:
    assert _set_error(b'{"err": "invalid_key", "description": "kid?"}') == ("invalid_key", "kid?")
    assert _set_error(b'{"err": 3}') == (None, None)
    assert _set_error(b"[1]") == (None, None)
    assert _set_error(b"<html>") == (None, None)


@pytest.mark.parametrize(
    ("value", "after"),
    [(None, None), ("", None), ("  ", None), ("0", 0), (" 42 ", 42), ("9" * 18, 10**18 - 1)],
)
def test_last_event_id_is_a_position_or_blank(value: str | None, after: int | None) -> None:
    assert parse_last_event_id(value) == after


@pytest.mark.parametrize(
    "value", ["-1", "+1", "1.0", "1e3", "0x1", "9" * 19, "\u00b2", "\u0661", "\uff11", "1 2"]
)
def test_last_event_id_that_is_no_position_is_invalid_request(value: str) -> None:
    with pytest.raises(OAuthError) as err:
        parse_last_event_id(value)
    assert (err.value.status, err.value.error) == (400, "invalid_request")
