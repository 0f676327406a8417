"""Revocation rules (docs/janssen-compatibility.md, *Revocation, as Janssen does it*) as fast
unit tests over the real store, no HTTP."""

from __future__ import annotations

import pytest

from tests.support.harness import Harness
from tokenrevoke.model import AuthMethod
from tokenrevoke.oauth.errors import OAuthError


def test_access_hint_does_not_fall_back_to_other_types(h: Harness) -> None:
    c, s = h.client("a")
    tok = h.issue(c, s)
    assert h.revoke(c, s, token=tok, token_type_hint="refresh_token") == 1
    assert not h.active(tok)


def test_unknown_hint_matches_any_type(h: Harness) -> None:
    c, s = h.client("a")
    tok = h.issue(c, s)
    assert h.revoke(c, s, token=tok, token_type_hint="nonsense") == 1


def test_list_is_validated_before_anything_is_revoked(h: Harness) -> None:
    a, sa = h.client("a")
    b, sb = h.client("b")
    mine, theirs = h.issue(a, sa), h.issue(b, sb)
    with pytest.raises(OAuthError) as err:
        h.revoke(a, sa, token=f"{mine} {theirs}")
    assert (err.value.status, err.value.error) == (400, "invalid_request")
    assert h.active(mine) and h.active(theirs)


def test_other_clients_tokens_need_property_and_scope(h: Harness) -> None:
    a, sa = h.client("a", "revoke_any_token")
    b, sb = h.client("b")
    theirs = h.issue(b, sb)
    with pytest.raises(OAuthError):
        h.revoke(a, sa, token=theirs)
    h.set(allowRevokeForOtherClients=True)
    with pytest.raises(OAuthError):
        h.revoke(b, sb, token=h.issue(a, sa))  # b lacks the scope
    assert h.revoke(a, sa, token=theirs) == 1


def test_revoke_all_forms_only_with_the_property(h: Harness) -> None:
    a, sa = h.client("a")
    b, sb = h.client("b")
    mine = [h.issue(a, sa) for _ in range(3)]
    theirs = h.issue(b, sb)
    assert h.revoke(a, sa, token="x", token_type_hint="all") == 0
    assert h.revoke(a, sa, token="ALL") == 0
    h.set(allowAllValueForRevokeEndpoint=True)
    assert h.revoke(a, sa, token="ALL", token_type_hint="refresh_token") == 0
    assert h.revoke(a, sa, token="x", token_type_hint="all") == 3
    assert not any(h.active(t) for t in mine) and h.active(theirs)


def test_unauthenticated_client_id_is_401(h: Harness) -> None:
    # RFC 6749 sections 2.3, 5.2 (Janssen: 200 and nothing done, a silent failure).
    a, sa = h.client("a")
    tok = h.issue(a, sa)
    for client_id in (a.client_id, "no-such-client"):
        with pytest.raises(OAuthError) as err:
            h.revoke(None, None, token=tok, client_id=client_id)
        assert (err.value.status, err.value.error) == (401, "invalid_client")
    assert h.active(tok)


def test_public_client_revokes_with_client_id_alone(h: Harness) -> None:
    pub, _ = h.client("p", method=AuthMethod.NONE, grants=("password", "refresh_token"))
    conf, sc = h.client("c")
    tok = h.issue(conf, sc)
    with pytest.raises(OAuthError):  # a public client may not touch other clients' tokens
        h.revoke(None, None, token=tok, client_id=pub.client_id)


def test_flag_checked_after_authentication(h: Harness) -> None:
    a, sa = h.client("a")
    h.set(featureFlags=["INTROSPECTION"])
    with pytest.raises(OAuthError) as err:
        h.revoke(a, "wrong-secret-xxxxxxxx", token="t")
    assert err.value.status == 401
    with pytest.raises(OAuthError) as err:
        h.revoke(a, sa, token="")
    assert err.value.status == 403
