"""Basic credentials that checked out are remembered (client_auth.py), but never beyond a
change of the client, and never past a lockout."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.harness import Harness
from tokenrevoke.configapi.clients import set_secret
from tokenrevoke.oauth.errors import OAuthError


def test_a_new_secret_ends_the_remembered_old_one(h: Harness) -> None:
    client, secret = h.client("a")
    h.issue(client, secret)
    h.issue(client, secret)  # the second time from what was remembered
    stored = h.run(h.rt.store.get_client(client.client_id))
    h.run(h.rt.store.save_client(set_secret(stored, h.rt.box, "a-new-secret-0123456789")))
    h.run(h.rt.refresh())
    with pytest.raises(OAuthError) as refused:
        h.issue(client, secret)
    assert (refused.value.status, refused.value.error) == (401, "invalid_client")
    h.issue(client, "a-new-secret-0123456789")


def test_a_disabled_client_is_refused_though_remembered(h: Harness) -> None:
    client, secret = h.client("a")
    h.issue(client, secret)
    stored = h.run(h.rt.store.get_client(client.client_id))
    h.run(h.rt.store.save_client(dataclasses.replace(stored, disabled=True)))
    h.run(h.rt.refresh())
    with pytest.raises(OAuthError) as refused:
        h.issue(client, secret)
    assert refused.value.status == 401


def test_a_lockout_holds_for_remembered_credentials(h: Harness) -> None:
    h.set(clientAuthFailureLimitPerClient=3, clientAuthFailureLimitPerAddress=0)
    client, secret = h.client("a")
    h.issue(client, secret)
    for _ in range(3):
        with pytest.raises(OAuthError):
            h.issue(client, "a-wrong-secret-0123456789")
    with pytest.raises(OAuthError) as throttled:
        h.issue(client, secret)
    assert throttled.value.status == 429
